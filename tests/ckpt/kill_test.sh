#!/usr/bin/env bash
# `kachi train` with checkpoints, end to end: a run is killed with SIGKILL while its step-10 save is half written
# (test hook --test_ckpt_pause); `latest` must still name step 5, `kachi ckpt inspect` must show step 5
# sound and the interrupted save, and `kachi train --resume` must continue from step 5 with the same losses as an
# uninterrupted run (bitwise: the printed losses match), also under mpirun -np 2 (resharded, tp 2). Then the
# checkpoint exports to safetensors, which `model.init_from` loads as initial weights.
# Usage: kill_test.sh KACHI MPIRUN
set -uo pipefail
kachi=$(readlink -f "$1")
mpirun=$2
# A CPU test: hide GPUs so ranks never bind (or refuse to share) a device on a GPU machine.
export CUDA_VISIBLE_DEVICES=
base=$(mktemp -d /tmp/kachi_ckpt_kill_XXXXXX)
trap 'rm -rf "$base"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

words=(card pool lane rank tensor shard token batch step loss)
for _ in $(seq 6000); do printf '%s ' "${words[RANDOM % 10]}"; done >"$base/text.txt"
"$kachi" data --out "$base/data" "$base/text.txt" >/dev/null || fail "kachi data failed"
cat >"$base/run.pbtxt" <<CONFIG
comm { backend: MPI deadline_s: 60 }
model { preset: "tiny" layers: 2 heads: 4 width: 32 vocab_size: 256 context: 32 }
parallel { tp: 1 }
train { seq_len: 32 global_batch: 8 micro_batch: 2 steps: 20 log_every: 1 }
data { train: "$base/data/train_*.bin" }
optimizer { lr: 3e-3 warmup_steps: 2 eps: 1e-6 }
checkpoint { dir: "$base/ckpt" every: 5 keep_last: 2 }
CONFIG
# The loss of each step, one "N LOSS" line per step.
losses() { grep -o 'step *[0-9]*/20 | loss [0-9.]*' | sed 's/step *\([0-9]*\)\/20 | loss /\1 /'; }

ref=$("$kachi" train "$base/run.pbtxt" --set "checkpoint.dir=$base/ref" 2>&1) || fail "reference run failed: $ref"
[[ $ref == *"ckpt stall"* ]] || fail "no checkpoint stall in the progress lines: $ref"
[[ $ref == *"step_00000020 committed"* ]] || fail "no commit line for step 20: $ref"

# A malformed hook is a clear error before step 1, not a silently normal run.
bad=$("$kachi" train "$base/run.pbtxt" --set "checkpoint.dir=$base/bad" --test_ckpt_pause 10 2>&1) \
  && fail "a malformed --test_ckpt_pause ran"
[[ $bad == *"--test_ckpt_pause='10': expected STEP:SECONDS"* ]] || fail "no message for a malformed hook: $bad"

"$kachi" train "$base/run.pbtxt" --test_ckpt_pause 10:120 >"$base/killed.out" 2>&1 &
pid=$!
for _ in $(seq 600); do
  compgen -G "$base/ckpt/.tmp_step_00000010_*/shard_00000.bin" >/dev/null && break
  sleep 0.1
done
compgen -G "$base/ckpt/.tmp_step_00000010_*/shard_00000.bin" >/dev/null || fail "the step-10 save never started"
kill -9 "$pid"
wait "$pid" 2>/dev/null

[[ $(cat "$base/ckpt/latest") == step_00000005 ]] || fail "latest is '$(cat "$base/ckpt/latest")', expected step_00000005"
[[ ! -e $base/ckpt/step_00000010 ]] || fail "the interrupted step 10 was committed"
inspect=$("$kachi" ckpt inspect "$base/ckpt") || fail "kachi ckpt inspect failed: $inspect"
echo "$inspect"
[[ $inspect == *"step_00000005  OK  step 5 | dp 1 x tp 1"* ]] || fail "inspect does not show step 5 sound"
[[ $inspect == *"INTERRUPTED"* ]] || fail "inspect does not show the interrupted save"
[[ $inspect == *"h.1.mlp.c_fc.weight"* ]] || fail "inspect lists no tensors"

cp -r "$base/ckpt" "$base/ckpt_copy"
resumed=$("$kachi" train "$base/run.pbtxt" --resume 2>&1) || fail "resume failed: $resumed"
[[ $resumed == *"resumed from $base/ckpt/step_00000005 (step 5)"* ]] || fail "did not resume from step 5: $resumed"
[[ $(losses <<<"$resumed" | wc -l) == 15 ]] || fail "the resumed run did not print steps 6..20: $resumed"
[[ $(losses <<<"$resumed") == $(losses <<<"$ref" | awk '$1 > 5') ]] ||
  fail "resumed losses differ from the uninterrupted run:"$'\n'"$(losses <<<"$resumed")"$'\n'"vs"$'\n'"$(losses <<<"$ref")"
[[ $(cat "$base/ckpt/latest") == step_00000020 ]] || fail "latest is not step_00000020 after the resumed run"
[[ $(ls "$base/ckpt" | tr '\n' ' ') == "latest step_00000015 step_00000020 " ]] ||
  fail "retention (keep_last 2) left: $(ls -a "$base/ckpt")"

# Resharded: the copy resumed at dp 1 x tp 2 under mpirun.
wide=$("$mpirun" -np 2 "$kachi" train "$base/run.pbtxt" --resume --set parallel.tp=2 \
  --set "checkpoint.dir=$base/ckpt_copy" 2>&1) || fail "resharded resume failed: $wide"
[[ $wide == *"resumed from $base/ckpt_copy/step_00000005 (step 5)"* ]] || fail "tp 2 did not resume from step 5: $wide"
[[ $wide == *"step    20/20 | loss"* ]] || fail "tp 2 did not finish: $wide"

"$kachi" ckpt export "$base/ckpt" --safetensors "$base/w.safetensors" || fail "export failed"
init=$("$kachi" train "$base/run.pbtxt" --set "model.init_from=$base/w.safetensors" --set checkpoint.dir= \
  --set train.steps=1 2>&1) || fail "init_from run failed: $init"
[[ $init == *"initial weights from $base/w.safetensors"* ]] || fail "init_from was not loaded: $init"
echo PASS
