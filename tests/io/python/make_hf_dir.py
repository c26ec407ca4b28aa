"""Writes a Hugging Face GPT-2 model directory with the standard library only (no torch/numpy): config.json as
GPT2Config.to_json_string writes it (floats, booleans, null included) and model.safetensors with the
`transformer.`-prefixed names GPT2LMHeadModel.save_pretrained writes, plus the attn.bias buffers and a duplicated
lm_head. Usage: make_hf_dir.py DIR SEED [untied]."""
import json, random, struct, sys

from gpt2_shapes import gpt2_shapes

L, H, C, V, T = 2, 2, 16, 256, 32
out, seed = sys.argv[1], int(sys.argv[2])
untied = len(sys.argv) > 3
rng = random.Random(seed)
shapes = gpt2_shapes(L, C, V, T, attn_bias=True)
values = {}
for name, shape in shapes.items():
    n = 1
    for d in shape: n *= d
    values["transformer." + name] = (shape, [rng.gauss(0, 0.02) for _ in range(n)])
wte = values["transformer.wte.weight"]
values["lm_head.weight"] = (wte[0], [v + 1.0 for v in wte[1]] if untied else list(wte[1]))
header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
for name in sorted(values):
    shape, vals = values[name]
    blob = struct.pack(f"<{len(vals)}f", *vals)
    header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(blob)]}
    blobs.append(blob)
    offset += len(blob)
h = json.dumps(header).encode()
h += b" " * (-len(h) % 8)
with open(out + "/model.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
config = {"activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "attn_pdrop": 0.1,
          "bos_token_id": 50256, "embd_pdrop": 0.1, "eos_token_id": 50256, "initializer_range": 0.02,
          "layer_norm_epsilon": 1e-05, "model_type": "gpt2", "n_ctx": T, "n_embd": C, "n_head": H, "n_inner": None,
          "n_layer": L, "n_positions": T, "reorder_and_upcast_attn": False, "resid_pdrop": 0.1,
          "scale_attn_by_inverse_layer_idx": False, "scale_attn_weights": True, "summary_activation": None,
          "task_specific_params": {"text-generation": {"do_sample": True, "max_length": 50}},
          "torch_dtype": "float32", "transformers_version": "4.40.0", "use_cache": True, "vocab_size": V}
with open(out + "/config.json", "w") as f:
    json.dump(config, f, indent=2)
