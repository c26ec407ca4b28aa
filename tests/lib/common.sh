# Shared pieces of the shell-driven tests (sourced, not run): a temporary folder removed on exit, fail, a tiny
# corpus turned into shards, the emulated cluster's bring-up (scripts/cluster.sh), the loss comparison against a
# single-rank run and the headless-Chromium check that a page draws. Use: . "$(dirname "$0")/../lib/common.sh"

# Prints FAIL: and the message on stderr and exits 1; first the log file $kachi_fail_log names, where a test set it.
fail() {
  if [[ -n ${kachi_fail_log:-} ]]; then
    echo "--- $(basename "$kachi_fail_log" .log) log ---"
    cat "$kachi_fail_log" 2>/dev/null
  fi
  echo "FAIL: $*" >&2
  exit 1
}

# kachi_temp_base PREFIX: sets base to a new folder /tmp/PREFIX_XXXXXX, removed on exit (a test with more to clean
# up sets its own EXIT trap afterwards and removes $base there).
kachi_temp_base() {
  base=$(mktemp -d "/tmp/${1}_XXXXXX")
  trap 'rm -rf "$base"' EXIT
}

# kachi_word_shards KACHI DIR COUNT [VOCAB]: writes DIR/text.txt, COUNT words drawn with $RANDOM from ten words
# (card pool lane ...) or, with VOCAB, from w0..w(VOCAB-1), and shards it with `kachi data --out DIR/data`.
kachi_word_shards() {
  local kachi=$1 dir=$2 count=$3 vocab=${4:-}
  local words=(card pool lane rank tensor shard token batch step loss)
  if [[ -n $vocab ]]; then
    for _ in $(seq "$count"); do printf '%s ' "w$((RANDOM % vocab))"; done >"$dir/text.txt"
  else
    for _ in $(seq "$count"); do printf '%s ' "${words[RANDOM % 10]}"; done >"$dir/text.txt"
  fi
  "$kachi" data --out "$dir/data" "$dir/text.txt" >/dev/null || fail "kachi data failed"
}

# kachi_cluster_base SOURCE_DIR NAME PREFIX [FAIL_LOG]: for a CPU test on the emulated cluster NAME, hides the GPUs
# and sets cluster (the scripts/cluster.sh command) and base (a new folder /tmp/PREFIX_XXXXXX); with FAIL_LOG, fail
# prints $base/FAIL_LOG first. On exit kills $job where the test set it, tears the cluster down and removes base.
kachi_cluster_base() {
  export CUDA_VISIBLE_DEVICES=
  cluster=(bash "$1/scripts/cluster.sh")
  kachi_cluster_name=$2
  job=
  base=$(mktemp -d "/tmp/${3}_XXXXXX")
  [[ -n ${4:-} ]] && kachi_fail_log=$base/$4
  trap kachi_cluster_cleanup EXIT
}
kachi_cluster_cleanup() {
  [[ -n ${job:-} ]] && kill -9 "$job" 2>/dev/null
  "${cluster[@]}" down --name "$kachi_cluster_name" >/dev/null 2>&1
  rm -rf "$base"
}

# kachi_cluster_up HOSTS SUBNET: after kachi_cluster_base, brings the cluster up (HOSTS hosts on SUBNET.0/24) and
# sets state to its folder. Exits 77 (skipped) where network namespaces are refused, fails when it does not come
# up.
kachi_cluster_up() {
  "${cluster[@]}" up "$1" --name "$kachi_cluster_name" --subnet "$2"
  local rc=$?
  [[ $rc -eq 77 ]] && exit 77
  [[ $rc -eq 0 ]] || { echo "FAIL: the emulated cluster did not come up" >&2; exit 1; }
  state=$("${cluster[@]}" dir --name "$kachi_cluster_name")
}

# kachi_tp2_reference KACHI DIR GLOBAL_BATCH: writes DIR/run.pbtxt, 6 steps of a tiny GPT with tp 2 (MPI backend,
# global batch GLOBAL_BATCH in micro-batches of 2, data DIR/data), and trains it on one rank (tp 1) into
# DIR/one.jsonl, the reference of a multi-host run.
kachi_tp2_reference() {
  local kachi=$1 dir=$2
  cat >"$dir/run.pbtxt" <<CONFIG
comm { backend: MPI deadline_s: 60 }
model { preset: "tiny" layers: 2 heads: 4 width: 32 vocab_size: 256 context: 32 }
parallel { tp: 2 }
train { seq_len: 32 global_batch: $3 micro_batch: 2 steps: 6 log_every: 1 }
data { train: "$dir/data/train_*.bin" }
optimizer { lr: 3e-3 warmup_steps: 2 eps: 1e-6 }
CONFIG
  "$kachi" train "$dir/run.pbtxt" --set parallel.tp=1 --set "train.metrics=$dir/one.jsonl" >"$dir/one.log" 2>&1 \
    || { cat "$dir/one.log"; fail "the single-rank run failed"; }
}

# kachi_same_losses REF.jsonl GOT.jsonl: the same steps in both metrics files and every loss within 1e-5
# relative of the reference's; prints the worst difference.
kachi_same_losses() {
  python3 - "$1" "$2" <<'PY'
import json, sys
def losses(path):
    with open(path) as f:
        return {r["step"]: r["loss"] for r in map(json.loads, f) if "loss" in r}
ref, got = losses(sys.argv[1]), losses(sys.argv[2])
assert ref and ref.keys() == got.keys(), f"steps differ: {sorted(ref)} vs {sorted(got)}"
worst = max(abs(got[s] - ref[s]) / abs(ref[s]) for s in ref)
print(f"{len(ref)} steps, worst relative loss difference {worst:.2e} (tolerance 1e-5)")
sys.exit(0 if worst <= 1e-5 else 1)
PY
}

# kachi_chromium: after kachi_temp_base (or kachi_cluster_base), sets browser to headless Chromium's path, first
# installing the chromium package where it is missing and this is root with apt-get (log: $base/apt.log); browser
# is empty when there is none (the caller skips, exit 77, with its reason).
kachi_chromium() {
  browser=$(kachi_chromium_path)
  if [[ -z $browser && $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "chromium missing: installing it"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >"$base/apt.log" 2>&1 ||
      { apt-get update >>"$base/apt.log" 2>&1 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >>"$base/apt.log" 2>&1; }
    browser=$(kachi_chromium_path)
  fi
}
kachi_chromium_path() { command -v chromium || command -v chromium-browser || true; }

# kachi_screenshot HTML PNG: after kachi_chromium, Chromium's headless 1200x900 screenshot of the page HTML into
# PNG; fails (printing Chromium's log) when it writes none.
kachi_screenshot() {
  "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --screenshot="$2" --window-size=1200,900 \
    "file://$1" >"$base/chromium.log" 2>&1
  [[ -s $2 ]] || { cat "$base/chromium.log"; fail "chromium wrote no screenshot of $1"; }
}

# kachi_page_draws SOURCE_DIR HTML: after kachi_chromium, the screenshot of the page HTML (written beside it as
# .png) passes tests/lanes/screenshot_check.py (drawn charts in both halves), and a blank page's screenshot fails
# that check (so that it can fail); fails otherwise.
kachi_page_draws() {
  local check=$1/tests/lanes/screenshot_check.py
  kachi_screenshot "$2" "${2%.html}.png"
  python3 "$check" "${2%.html}.png" || fail "the page $2 looks blank"
  echo '<!DOCTYPE html><html><body><h1>nothing drawn</h1></body></html>' >"$base/blank.html"
  kachi_screenshot "$base/blank.html" "$base/blank.png"
  if python3 "$check" "$base/blank.png" >"$base/blank.log"; then
    cat "$base/blank.log"
    fail "the screenshot check passed a blank page"
  fi
}
