#!/usr/bin/env python3
"""GPT-2 training step in PyTorch: the peer of `kachi bench train` (bench/train/), same shapes as kachi's model.

A nanoGPT-style GPT-2 (tied LM head, pre-LayerNorm blocks, GELU tanh MLP, vocabulary padded to 50304) trained on
random tokens with bf16 autocast, flash SDPA (is_causal), fused AdamW and fp32 master weights, in eager mode and
under torch.compile. Per mode it prints the median ms/step over --steps steps after --warmup steps, tokens/s, MFU
against a dense bf16 peak (and the measured matmul ceiling when given) and peak memory, then one machine-readable
line "kachi_torch mode=... key=value ..." that kachi parses.

Exit codes: 0 at least one mode ran; 3 the peer cannot run here (no torch, no CUDA device), with a line
"kachi_torch_unavailable reason=<rest of the line>"; 1 every requested mode failed (each with a line
"kachi_torch_error mode=<mode> reason=<rest of the line>"). mfu_ceiling is 0 when --matmul-tflops is not given.
"""
import argparse
import gc
import math
import statistics
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--layers", type=int, default=12)
    p.add_argument("--heads", type=int, default=12)
    p.add_argument("--width", type=int, default=768)
    p.add_argument("--vocab", type=int, default=50257, help="real vocabulary: random tokens are drawn below it")
    p.add_argument("--padded-vocab", type=int, default=50304, help="rows of the embedding / LM head")
    p.add_argument("--context", type=int, default=1024, help="rows of the position embedding")
    p.add_argument("--seq-len", type=int, default=1024)
    p.add_argument("--batch", type=int, default=32, help="micro-batch in sequences (16 if 32 does not fit)")
    p.add_argument("--steps", type=int, default=20, help="timed steps per mode")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps per mode (compilation happens here)")
    p.add_argument("--modes", default="eager,compile", help="comma-separated: eager, compile")
    p.add_argument("--peak-tflops", type=float, default=989.0, help="dense bf16 peak (H100 SXM: 989)")
    p.add_argument("--matmul-tflops", type=float, default=0.0, help="measured bf16 matmul ceiling (0: not given)")
    p.add_argument("--seed", type=int, default=1234)
    return p.parse_args()


def unavailable(reason):
    print(f"kachi_torch_unavailable reason={reason}", flush=True)
    print(f"gpt2_torch.py: {reason}", file=sys.stderr, flush=True)
    sys.exit(3)


def flops_per_token(layers, width, padded_vocab, context, seq_len):
    """6 x (parameters that multiply: all but the position embedding) + 12 x layers x width x T (attention
    scores and values, forward and backward, counted over the full T x T as nanoGPT and PaLM do). The same formula
    as bench/train/train_flops.cc."""
    per_layer = 2 * width + (3 * width * width + 3 * width) + (width * width + width) + 2 * width \
        + (4 * width * width + 4 * width) + (4 * width * width + width)
    params = padded_vocab * width + context * width + layers * per_layer + 2 * width
    return 6 * (params - context * width) + 12 * layers * width * seq_len, params


def build_model(torch, args):
    nn = torch.nn
    F = torch.nn.functional

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn = nn.Linear(args.width, 3 * args.width)
            self.c_proj = nn.Linear(args.width, args.width)

        def forward(self, x):
            b, t, c = x.shape
            q, k, v = self.c_attn(x).split(c, dim=2)
            q, k, v = (z.view(b, t, args.heads, c // args.heads).transpose(1, 2) for z in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            return self.c_proj(y.transpose(1, 2).contiguous().view(b, t, c))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1 = nn.LayerNorm(args.width)
            self.attn = Attention()
            self.ln_2 = nn.LayerNorm(args.width)
            self.c_fc = nn.Linear(args.width, 4 * args.width)
            self.c_proj = nn.Linear(4 * args.width, args.width)

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.c_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(args.padded_vocab, args.width)
            self.wpe = nn.Embedding(args.context, args.width)
            self.blocks = nn.ModuleList(Block() for _ in range(args.layers))
            self.ln_f = nn.LayerNorm(args.width)
            self.lm_head = nn.Linear(args.width, args.padded_vocab, bias=False)
            self.lm_head.weight = self.wte.weight  # tied, as GPT-2 and kachi
            for name, p in self.named_parameters():
                if p.dim() == 2:
                    std = 0.02 / math.sqrt(2 * args.layers) if name.endswith("c_proj.weight") else 0.02
                    nn.init.normal_(p, mean=0.0, std=std)
                elif name.endswith("bias"):
                    nn.init.zeros_(p)

        def forward(self, idx, targets):
            pos = torch.arange(idx.shape[1], device=idx.device)
            x = self.wte(idx) + self.wpe(pos)
            for block in self.blocks:
                x = block(x)
            logits = self.lm_head(self.ln_f(x))
            return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))  # fp32 under autocast

    return GPT()


def optimizer_for(torch, model):
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=6e-4, betas=(0.9, 0.95), eps=1e-8, fused=True)


def run_mode(torch, args, mode, fpt):
    torch.manual_seed(args.seed)
    gc.collect()  # the previous mode's model and optimizer state
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    model = build_model(torch, args).cuda()
    optimizer = optimizer_for(torch, model)
    step_model = torch.compile(model) if mode == "compile" else model
    gen = torch.Generator(device="cuda").manual_seed(args.seed)
    tokens = torch.randint(0, args.vocab, (args.batch, args.seq_len + 1), device="cuda", generator=gen)
    x, y = tokens[:, :-1].contiguous(), tokens[:, 1:].contiguous()

    def step():
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16):
            loss = step_model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss

    compile_start = time.perf_counter()
    first_loss = None
    for _ in range(args.warmup):
        loss = step()
        first_loss = loss.item() if first_loss is None else first_loss
    torch.cuda.synchronize()
    warmup_s = time.perf_counter() - compile_start
    times = []
    for _ in range(args.steps):
        start = time.perf_counter()
        loss = step()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    last_loss = loss.item()
    first_loss = last_loss if first_loss is None else first_loss  # --warmup 0
    ms = statistics.median(times) * 1e3
    tokens_per_s = args.batch * args.seq_len / (ms / 1e3)
    achieved_tflops = fpt * tokens_per_s / 1e12
    mfu_peak = achieved_tflops / args.peak_tflops
    mfu_ceiling = achieved_tflops / args.matmul_tflops if args.matmul_tflops > 0 else 0.0
    peak_mem = torch.cuda.max_memory_allocated()
    print(f"torch {mode:8s} B={args.batch} T={args.seq_len}: {ms:.2f} ms/step  {tokens_per_s:,.0f} tokens/s  "
          f"MFU {100 * mfu_peak:.1f}% of {args.peak_tflops:g}"
          + (f" ({100 * mfu_ceiling:.1f}% of measured {args.matmul_tflops:g})" if args.matmul_tflops > 0 else "")
          + f" TFLOP/s  peak {peak_mem / 2**20:.0f} MiB  warmup {warmup_s:.1f} s  loss {first_loss:.3f}->{last_loss:.3f}",
          flush=True)
    print(f"kachi_torch mode={mode} batch={args.batch} seq_len={args.seq_len} steps={args.steps} ms_per_step={ms:.4f} "
          f"tokens_per_s={tokens_per_s:.1f} flops_per_token={fpt} mfu_peak={mfu_peak:.6f} mfu_ceiling={mfu_ceiling:.6f} "
          f"peak_mem_bytes={peak_mem} warmup_s={warmup_s:.2f} first_loss={first_loss:.5f} last_loss={last_loss:.5f} "
          f"torch={torch.__version__}", flush=True)
    del step_model, model, optimizer


def main():
    args = parse_args()
    try:
        import torch
    except ImportError as error:
        unavailable(f"python {sys.executable} cannot import torch ({error})")
    if not torch.cuda.is_available():
        unavailable(f"torch {torch.__version__} sees no CUDA device (the peer runs bf16 autocast on a GPU)")
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    fpt, params = flops_per_token(args.layers, args.width, args.padded_vocab, args.context, args.seq_len)
    print(f"# gpt2_torch.py: torch {torch.__version__} on {torch.cuda.get_device_name()}, {params / 1e6:.2f}M "
          f"parameters, flops/token {fpt / 1e9:.4f} G", flush=True)
    ok = 0
    for mode in [m for m in args.modes.split(",") if m]:
        if mode not in ("eager", "compile"):
            print(f"gpt2_torch.py: unknown mode '{mode}' (expected eager or compile)", file=sys.stderr)
            return 2
        try:
            run_mode(torch, args, mode, fpt)
            ok += 1
        except Exception as error:  # an OOM or compile failure of one mode must not hide the other
            reason = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
            print(f"kachi_torch_error mode={mode} reason={reason[:300]}", flush=True)
            torch.cuda.empty_cache()
    return 0 if ok > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
