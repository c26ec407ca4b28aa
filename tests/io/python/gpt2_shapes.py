"""The tensor shapes of a Hugging Face GPT-2 state dict (bare names, Conv1D weights [in, out]), in the order
GPT2LMHeadModel lists them; shared by make_hf_dir.py and check_hf_dir.py."""


def gpt2_shapes(L, C, V, T, attn_bias=False):
    """Shapes of an L-layer, width-C, vocab-V, context-T model; with attn_bias also each layer's causal-mask buffer
    attn.bias [1, 1, T, T] (last in its layer)."""
    shapes = {"wte.weight": [V, C], "wpe.weight": [T, C], "ln_f.weight": [C], "ln_f.bias": [C]}
    for l in range(L):
        p = f"h.{l}."
        shapes.update({p + "ln_1.weight": [C], p + "ln_1.bias": [C], p + "attn.c_attn.weight": [C, 3 * C],
                       p + "attn.c_attn.bias": [3 * C], p + "attn.c_proj.weight": [C, C], p + "attn.c_proj.bias": [C],
                       p + "ln_2.weight": [C], p + "ln_2.bias": [C], p + "mlp.c_fc.weight": [C, 4 * C],
                       p + "mlp.c_fc.bias": [4 * C], p + "mlp.c_proj.weight": [4 * C, C], p + "mlp.c_proj.bias": [C]})
        if attn_bias:
            shapes[p + "attn.bias"] = [1, 1, T, T]
    return shapes
