#!/usr/bin/env bash
# kachi-elastic: `kachi train` that survives the loss of a host. Runs the job on the hosts it has; when the job
# ends with kachi's own "HOST LOST" report (exit 87 or mpirun's code for a killed rank; KACHI_FAILURE_REPORT names
# the host), drops that host and restarts from the latest checkpoint (--resume) on the hosts left, with the largest
# layout that fits (`kachi plan`: tp kept, dp shrinks, global batch kept through gradient accumulation, so the loss
# curve continues). A lost peer or a missed deadline without a lost host restarts on the same hosts. Any other
# failure (a configuration error, a crash kachi did not diagnose) ends the script with the job's exit code. At most
# --max_restarts restarts (default 3).
#
#   scripts/kachi-elastic.sh [--hostfile FILE] [--slots P] [--max_restarts N] [--kachi PATH] [--launcher mpirun|srun]
#                            [--mpirun_arg ARG]... [--lanes] -- CONFIG.pbtxt [kachi train flags...]
#
# --lanes: `kachi lanes LANES.pbtxt [flags]` instead; a restart uses every rank of the hosts left and `--resume`
# (the lanes journal replays the run and continues each lane from its last journaled checkpoint). After a host loss
# the pool is the cards left: lanes move onto it (launcher/lanes/journal_repool.h; the lanes file needs pool.cards 0
# = every rank, and pool.cards_per_node = the slots per host so tp gangs stay inside a host).
#
# mpirun: hosts and slots from the hostfile ("host slots=P" lines; default: this host with --slots slots).
# srun (launcher/slurm/train.sbatch): hosts from SLURM_JOB_NODELIST, slots from SLURM_NTASKS_PER_NODE (or --slots).
# The training configuration needs `checkpoint { dir: ... every: ... }` for a restart to resume. State (hostfiles,
# failure reports) goes to $KACHI_ELASTIC_DIR (default: a fresh /tmp folder). Exit: 0 when training completed.
set -uo pipefail

hostfile= slots= max_restarts=3 launcher=mpirun mpirun_args=() command=train
kachi=${KACHI:-$(dirname "$(readlink -f "$0")")/../build/kachi}
while (($#)); do
  case $1 in
    --hostfile) hostfile=$2; shift 2 ;;
    --slots) slots=$2; shift 2 ;;
    --max_restarts) max_restarts=$2; shift 2 ;;
    --kachi) kachi=$2; shift 2 ;;
    --launcher) launcher=$2; shift 2 ;;
    --mpirun_arg) mpirun_args+=("$2"); shift 2 ;;
    --lanes) command=lanes; shift ;;
    --) shift; break ;;
    *) echo "kachi-elastic: unknown option '$1' (see the header of $0)" >&2; exit 2 ;;
  esac
done
(($# >= 1)) || { echo "usage: kachi-elastic.sh [options] -- CONFIG.pbtxt [kachi train flags...]" >&2; exit 2; }
config=$1; shift
train_flags=("$@")
state=${KACHI_ELASTIC_DIR:-$(mktemp -d /tmp/kachi-elastic-XXXXXX)}
mkdir -p "$state"
log() { echo "kachi-elastic: $*" >&2; }

# The hosts, in order, and the slots of each.
hosts=()
if [[ $launcher == srun ]]; then
  mapfile -t hosts < <(scontrol show hostnames "${SLURM_JOB_NODELIST:?not inside a Slurm allocation}")
  slots=${slots:-${SLURM_NTASKS_PER_NODE:-}}
  slots=${slots%%(*}
elif [[ -n $hostfile ]]; then
  mapfile -t hosts < <(awk 'NF && $1 !~ /^#/ {print $1}' "$hostfile")
  slots=${slots:-$(awk 'NF && $1 !~ /^#/ {for (i = 2; i <= NF; i++) if ($i ~ /^slots=/) {sub("slots=", "", $i); print $i; exit}}' "$hostfile")}
else
  hosts=("$(hostname)")
fi
slots=${slots:-1}
((${#hosts[@]} > 0)) || { log "no hosts"; exit 2; }

# Hosts reported lost in report file $1: named by a majority of the hosts that reported (a host cut off from the
# rest reports everyone else as lost; the others outvote it); on a tie, the later hosts of the list go.
lost_hosts() {
  python3 - "$1" "${hosts[@]}" <<'PY'
import re, sys
report, order = sys.argv[1], sys.argv[2:]
votes, reporters = {}, set()
for line in open(report, errors="replace"):
    named = re.findall(r"HOST LOST (\S+) \(", line)
    by = re.findall(r"\(host ([^)]+)\)", line)
    if not named or not by:
        continue
    reporter = by[-1]
    reporters.add(reporter)
    for host in set(named):
        votes.setdefault(host, set()).add(reporter)
lost = [h for h in order if len(votes.get(h, ())) * 2 > len(reporters)]
if not lost and votes:  # a tie (e.g. two hosts that cannot see each other): keep the first host of the list
    lost = [h for h in order[1:] if h in votes]
print(" ".join(lost))
PY
}

# Runs "$@" (the launcher) in the background and waits for it; when kachi has written a failure report and the
# launcher has not ended $grace s later (mpirun waits for the daemon of a host it cannot reach), ends it. Sets rc.
grace=${KACHI_ELASTIC_GRACE:-15}
run_job() {
  local report=$1; shift
  "$@" &
  local job=$! reported=
  while kill -0 "$job" 2>/dev/null; do
    if [[ -z $reported && -s $report ]]; then reported=$SECONDS; fi
    if [[ -n $reported ]] && ((SECONDS - reported > grace)); then
      log "the launcher is still running $grace s after kachi's failure report: ending it"
      kill -TERM "$job" 2>/dev/null
      for _ in $(seq 50); do kill -0 "$job" 2>/dev/null || break; sleep 0.1; done  # up to 5 s to end
      kill -KILL "$job" 2>/dev/null
      break
    fi
    sleep 1
  done
  wait "$job"
  rc=$?
  if [[ -n $reported ]] && grep -q "kachi: HOST LOST" "$report" && ((rc == 0 || rc > 128)); then rc=87; fi
}

resume=()
base_flags=()  # the train flags without --resume (added per attempt)
for flag in "${train_flags[@]}"; do
  if [[ $flag == --resume ]]; then resume=(--resume); else base_flags+=("$flag"); fi
done
rc=1
for ((attempt = 0; attempt <= max_restarts; attempt++)); do
  if [[ $command == lanes ]]; then  # lanes take every rank as their card pool
    plan="ranks $((${#hosts[@]} * slots)) hosts ${#hosts[@]} dp - tp - micro_batch - accumulation -"
  else
    plan=$("$kachi" plan "$config" "${base_flags[@]}" --hosts "${#hosts[@]}" --ranks_per_host "$slots") || {
      log "no layout fits ${#hosts[@]} host(s) of $slots rank(s): $plan"; exit 1; }
  fi
  read -r _ ranks _ nhosts _ dp _ tp _ micro _ accumulation <<<"$plan"
  use=("${hosts[@]:0:nhosts}")
  report=$state/failure_report.$attempt
  rm -f "$report"
  log "attempt $attempt: $ranks ranks on ${use[*]} (dp $dp x tp $tp, micro_batch $micro, accumulation" \
      "$accumulation)${resume:+, resuming from the latest checkpoint}"
  flags=("${base_flags[@]}" "${resume[@]}")
  [[ $command == train ]] && flags+=(--set "parallel.dp=$dp" --set "train.micro_batch=$micro")
  if [[ $launcher == srun ]]; then
    export KACHI_FAILURE_REPORT=$report; run_job "$report" srun --mpi=pmix --kill-on-bad-exit=1 -N "$nhosts" -n "$ranks" \
      --ntasks-per-node="$slots" --nodelist="$(IFS=,; echo "${use[*]}")" "$kachi" "$command" "$config" "${flags[@]}"
  else
    : >"$state/hostfile.$attempt"
    for host in "${use[@]}"; do echo "$host slots=$slots" >>"$state/hostfile.$attempt"; done
    export KACHI_FAILURE_REPORT=$report; run_job "$report" mpirun --hostfile "$state/hostfile.$attempt" -np "$ranks" \
      -x KACHI_FAILURE_REPORT "${mpirun_args[@]}" "$kachi" "$command" "$config" "${flags[@]}"
  fi
  if ((rc == 0)); then
    log "$command completed (attempt $attempt)"
    exit 0
  fi
  [[ -s $report ]] || { log "the job failed (exit $rc) without a kachi failure report: not restarting"; exit "$rc"; }
  lost=$(lost_hosts "$report")
  if [[ -n $lost ]]; then
    left=()
    for host in "${hosts[@]}"; do [[ " $lost " == *" $host "* ]] || left+=("$host"); done
    log "host(s) lost: $lost (exit $rc); $((${#left[@]})) host(s) left: ${left[*]}"
    hosts=("${left[@]}")
    ((${#hosts[@]} > 0)) || { log "no host left"; exit "$rc"; }
  elif grep -Eq "kachi: (PEER LOST|DEADLINE|COORDINATOR LOST)" "$report"; then
    log "a peer was lost or a collective missed its deadline (exit $rc): restarting on the same hosts"
  else
    log "the job failed (exit $rc): $(head -1 "$report"); not restarting"
    exit "$rc"
  fi
  resume=(--resume)
done
log "gave up after $max_restarts restart(s) (last exit $rc)"
exit "$rc"
