#!/usr/bin/env python3
"""Writes gpt2_tiny_reference.safetensors: a tiny Hugging Face GPT-2 in float32 with seeded random weights, one
seeded batch, its logits, loss and every parameter's gradient, and the losses of 10 AdamW steps on that batch.
With --heads 1 it writes gpt2_tiny_hs64_reference.safetensors instead: the same model with one head of size 64,
the head size kachi's CUDA flash attention needs (the GPU's fp32 check uses that one).

kachi's tests/io/torch_reference_test.cc loads the file, imports the weights into a GptModel and checks that
kachi's forward, backward and AdamW agree with PyTorch. The math runs on the CPU in float32 (no TF32, deterministic
algorithms) even where a GPU exists, so the file does not depend on the machine.

Usage: python3 make_reference.py [--heads 4|1] [--out PATH]   (needs torch, transformers, safetensors, numpy)
"""
import argparse
import os
import platform

import numpy as np
import torch
import transformers
from safetensors.numpy import save_file
from transformers import GPT2Config, GPT2LMHeadModel

SEED = 20240520
BATCH, SEQ = 4, 32
LR, BETAS, EPS, WEIGHT_DECAY, STEPS = 1e-3, (0.9, 0.95), 1e-8, 0.1, 10
CONFIG = dict(n_layer=2, n_head=4, n_embd=64, vocab_size=256, n_positions=64, activation_function="gelu_new",
              resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, layer_norm_epsilon=1e-5,
              bos_token_id=0, eos_token_id=0)  # GPT-2's 50256 is outside the byte vocabulary


def build_model(generator):
    """GPT2LMHeadModel with every parameter random: weights N(0, 0.02), biases N(0, 0.02), LayerNorm weights
    1 + N(0, 0.1) and biases N(0, 0.1), so each parameter influences the loss."""
    config = GPT2Config(**CONFIG)
    config._attn_implementation = "eager"
    model = GPT2LMHeadModel(config).float().eval()  # eval(): dropout is 0 anyway; no randomness in forward
    with torch.no_grad():
        for name, param in model.named_parameters():
            if ".ln_" in name or name.startswith("transformer.ln_f"):
                base = 1.0 if name.endswith("weight") else 0.0
                param.copy_(base + 0.1 * torch.randn(param.shape, generator=generator))
            else:
                param.copy_(0.02 * torch.randn(param.shape, generator=generator))
    return model


def hf_name(name):
    """transformer.h.0.attn.c_attn.weight -> h.0.attn.c_attn.weight (kachi's ParameterLayout names)."""
    return name[len("transformer."):] if name.startswith("transformer.") else name


def loss_of(model, inputs, targets):
    logits = model(input_ids=inputs).logits
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
    return logits, loss


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heads", type=int, default=4, choices=[4, 1],
                        help="attention heads of the 64-wide model: 4 (head size 16) or 1 (head size 64)")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    CONFIG["n_head"] = args.heads
    default_name = "gpt2_tiny_reference.safetensors" if args.heads == 4 else "gpt2_tiny_hs64_reference.safetensors"
    args.out = args.out or os.path.join(os.path.dirname(os.path.abspath(__file__)), default_name)

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)  # fixed reduction order
    generator = torch.Generator().manual_seed(SEED)

    model = build_model(generator)
    tokens = torch.randint(0, CONFIG["vocab_size"], (BATCH, SEQ + 1), generator=generator)
    inputs, targets = tokens[:, :-1].contiguous(), tokens[:, 1:].contiguous()

    tensors = {}
    params = dict(model.named_parameters())  # the tied lm_head.weight is wte's Parameter: listed once
    for name, param in params.items():
        tensors["param." + hf_name(name)] = param.detach().numpy().copy()

    model.zero_grad()
    logits, loss = loss_of(model, inputs, targets)
    loss.backward()
    for name, param in params.items():
        tensors["grad." + hf_name(name)] = param.grad.detach().numpy().copy()
    # Logits of the first sequence only: all four would push the file past 1 MiB (the loss covers the batch).
    tensors["logits"] = logits[:1].detach().numpy().copy()
    tensors["loss"] = np.array(loss.item(), dtype=np.float32)
    tensors["inputs"] = inputs.numpy().astype(np.int32)
    tensors["targets"] = targets.numpy().astype(np.int64)

    decay = [p for p in params.values() if p.dim() >= 2]
    no_decay = [p for p in params.values() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY},
                                   {"params": no_decay, "weight_decay": 0.0}],
                                  lr=LR, betas=BETAS, eps=EPS, foreach=False, fused=False)
    losses = []
    for _ in range(STEPS):
        optimizer.zero_grad(set_to_none=True)
        _, step_loss = loss_of(model, inputs, targets)
        losses.append(step_loss.item())
        step_loss.backward()
        optimizer.step()
    tensors["adamw_losses"] = np.array(losses, dtype=np.float32)

    metadata = {
        "description": "kachi PyTorch reference: tiny GPT-2, one batch, logits (batch row 0), loss, grads, AdamW",
        "config": repr(CONFIG),
        "n_layer": "2", "n_head": str(CONFIG["n_head"]), "n_embd": "64", "vocab_size": "256", "n_positions": "64",
        "activation_function": "gelu_new", "layer_norm_epsilon": "1e-5",
        "batch": str(BATCH), "seq_len": str(SEQ), "seed": str(SEED),
        "init": "weights and biases N(0,0.02); LayerNorm weight 1+N(0,0.1), bias N(0,0.1)",
        "loss": "mean cross-entropy over batch*seq_len tokens",
        "logits_rows": "batch row 0 only, shape [1, seq_len, vocab]",
        "adamw": f"lr={LR} betas={BETAS} eps={EPS} weight_decay={WEIGHT_DECAY} on 2-D weights only "
                 f"(wte, wpe, Conv1D weights); steps={STEPS}; no clipping",
        "adamw_losses": "loss before each step on the same batch",
        "lr": str(LR), "beta1": str(BETAS[0]), "beta2": str(BETAS[1]), "eps": str(EPS),
        "weight_decay": str(WEIGHT_DECAY), "steps": str(STEPS),
        "dtype": "float32, CPU, TF32 off, deterministic algorithms, 1 thread",
        "torch": torch.__version__, "transformers": transformers.__version__, "numpy": np.__version__,
        "python": platform.python_version(), "machine": platform.machine(),
    }
    save_file(tensors, args.out, metadata=metadata)
    print(f"wrote {args.out}: {os.path.getsize(args.out)} bytes, loss {loss.item():.6f}, "
          f"AdamW losses {losses[0]:.6f} -> {losses[-1]:.6f}")


if __name__ == "__main__":
    main()
