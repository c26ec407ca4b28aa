#!/usr/bin/env bash
# Issue 16 item 5: `kachi train` with train.metrics and train.tensorboard_dir on 2 ranks (dp 2) writes one event
# file (rank 0 only) that the `tensorboard` package ($KACHI_PYTHON, default python3) reads back, every scalar equal
# to the JSON lines' value (tensorboard_check.py): loss, lr, grad_norm, ms, tokens_per_s, val_loss (eval every 2
# steps) and ckpt_stall_ms (synchronous checkpoints every 2 steps). Skipped (exit 77) when the interpreter lacks
# tensorboard. A tensorboard_dir naming a file is refused at start-up.
# Usage: tensorboard_test.sh KACHI MPIRUN
set -uo pipefail
kachi=$(readlink -f "$1")
mpirun=$2
python=${KACHI_PYTHON:-python3}
here=$(cd "$(dirname "$0")" && pwd)
export CUDA_VISIBLE_DEVICES=
if ! "$python" -c "import tensorboard" 2>/dev/null; then
  echo "SKIPPED: '$python' has no tensorboard package (scripts/setup.sh installs it into build/pyenv; KACHI_PYTHON)"
  exit 77
fi
base=$(mktemp -d /tmp/kachi_tensorboard_XXXXXX)
trap 'rm -rf "$base"' EXIT
cd "$base" || exit 1
fail() { echo "FAIL: $*" >&2; exit 1; }
for _ in $(seq 4000); do printf '%s ' "w$((RANDOM % 30))"; done >text.txt
"$kachi" data --out data text.txt >/dev/null || fail "kachi data failed"
cat >run.pbtxt <<CONFIG
model { preset: "tiny" layers: 1 heads: 2 width: 32 vocab_size: 256 context: 16 }
train { seq_len: 16 global_batch: 4 micro_batch: 2 steps: 6 log_every: 1 eval_every: 2 eval_windows: 4
        metrics: "$base/metrics.jsonl" tensorboard_dir: "$base/tb/run1" }
data { train: "$base/data/train_*.bin" val: "$base/data/val_*.bin" }
checkpoint { dir: "$base/ckpt" every: 2 async: false }
CONFIG
if [[ -x $(command -v "$mpirun") ]]; then
  launch=("$mpirun" -np 2)
else
  launch=()
fi
timeout 300 "${launch[@]}" "$kachi" train run.pbtxt >out.txt 2>&1 || fail "training failed: $(tail -5 out.txt)"
grep -q '^step     6/6 | val loss' out.txt || fail "no final val loss: $(tail -5 out.txt)"
grep -q '"val_loss"' metrics.jsonl || fail "no val_loss in the JSON lines"
"$python" "$here/tensorboard_check.py" metrics.jsonl tb/run1 || exit 1
# A tensorboard_dir that cannot be a directory is refused before step 1, naming the field.
touch afile
timeout 60 "$kachi" train run.pbtxt --set train.tensorboard_dir="$base/afile" >out.txt 2>&1
[[ $? == 1 ]] && grep -q "train.tensorboard_dir = '$base/afile': exists and is not a directory" out.txt &&
  ! grep -q '^step' out.txt || fail "a file as tensorboard_dir: $(cat out.txt)"
echo "PASS: tensorboard_dir naming a file refused before step 1"
