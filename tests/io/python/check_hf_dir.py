"""Checks a directory kachi exported for from_pretrained without torch: config.json's fields as GPT2Config reads
them, and model.safetensors' names and shapes as GPT2LMHeadModel's state dict (bare names, Conv1D [in, out]).
Usage: check_hf_dir.py DIR L H C V T."""
import json, struct, sys

from gpt2_shapes import gpt2_shapes

d = sys.argv[1]
L, H, C, V, T = map(int, sys.argv[2:7])
cfg = json.load(open(d + "/config.json"))
want = {"model_type": "gpt2", "n_layer": L, "n_head": H, "n_embd": C, "vocab_size": V, "n_positions": T,
        "activation_function": "gelu_new", "layer_norm_epsilon": 1e-05, "architectures": ["GPT2LMHeadModel"],
        "tie_word_embeddings": True}
for k, v in want.items():
    assert cfg.get(k) == v, f"config.json {k} = {cfg.get(k)!r}, want {v!r}"
raw = open(d + "/model.safetensors", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
assert header["__metadata__"]["format"] == "pt", header["__metadata__"]
shapes = gpt2_shapes(L, C, V, T)
got = {k: v["shape"] for k, v in header.items() if k != "__metadata__"}
assert got == shapes, f"tensors differ: extra {set(got) - set(shapes)}, missing {set(shapes) - set(got)}"
print("check_hf_dir: ok", len(got), "tensors")
