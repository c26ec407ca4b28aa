"""Checks a `kachi eval --logits` file with numpy + safetensors: tensor shapes, and the softmax cross-entropy of
the logits against the targets (recomputed in float64) equal to the loss kachi reported, within 2e-5.
Prints the greedy next token of the first window's last position and that window's inputs (comma-separated) for
the sample test. Usage: check_eval_logits.py FILE REPORTED_LOSS WINDOWS SEQ_LEN VOCAB."""
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file

path, reported, windows, seq_len, vocab = sys.argv[1], float(sys.argv[2]), *map(int, sys.argv[3:6])
t = load_file(path)
with safe_open(path, framework="np") as f:
    meta = f.metadata()
logits, inputs, targets = t["logits"], t["inputs"], t["targets"]
assert logits.dtype == np.float32, logits.dtype
assert logits.shape == (windows, seq_len, vocab), logits.shape
assert inputs.shape == targets.shape == (windows, seq_len), (inputs.shape, targets.shape)
assert (inputs[:, 1:] == targets[:, :-1]).all(), "targets are not the inputs shifted by one"
x = logits.astype(np.float64)
x -= x.max(axis=-1, keepdims=True)
logp = x - np.log(np.exp(x).sum(axis=-1, keepdims=True))
ce = -np.take_along_axis(logp, targets[..., None], axis=-1).mean()
assert abs(ce - reported) < 2e-5, f"numpy cross-entropy {ce:.7f} != kachi eval loss {reported:.7f}"
assert abs(float(meta["kachi.eval_loss"]) - ce) < 2e-5, (meta, ce)
print(int(np.argmax(logits[0, -1])), ",".join(str(int(v)) for v in inputs[0]))
