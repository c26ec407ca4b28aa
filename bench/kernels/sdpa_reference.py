#!/usr/bin/env python3
"""PyTorch peer for kachi's attention benchmark: scaled_dot_product_attention (causal, flash backend forced) on
bf16 tensors laid out as kachi's packed qkv [B, T, 3, H, D] (q, k, v are strided views, as in a GPT block), forward
and forward+backward, median of CUDA-event timings. Prints one line the C++ benchmark parses:
    sdpa_reference fwd_ms=<median> fwdbwd_ms=<median>
"""
import argparse
import statistics

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.nn.functional import scaled_dot_product_attention


def median_ms(body, warmups, repeats):
    """Median milliseconds of body() over `repeats` event-timed runs after `warmups` untimed ones."""
    for _ in range(warmups):
        body()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start = torch.cuda.Event(enable_timing=True)
        stop = torch.cuda.Event(enable_timing=True)
        start.record()
        body()
        stop.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(stop))
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--heads", type=int, default=12)
    parser.add_argument("--seq-len", type=int, default=1024)
    parser.add_argument("--head-size", type=int, default=64)
    parser.add_argument("--warmups", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()

    torch.manual_seed(20261122)
    b, h, t, d = args.batch, args.heads, args.seq_len, args.head_size
    qkv = (torch.rand(b, t, 3, h, d, device="cuda", dtype=torch.bfloat16) * 2 - 1).requires_grad_(True)
    dout = torch.rand(b, h, t, d, device="cuda", dtype=torch.bfloat16) * 2 - 1

    def views():
        return [qkv[:, :, i].transpose(1, 2) for i in range(3)]  # [B, H, T, D], last dim contiguous

    def forward():
        q, k, v = views()
        return scaled_dot_product_attention(q, k, v, is_causal=True)

    def forward_backward():
        out = forward()
        torch.autograd.grad(out, qkv, dout)

    with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
        with torch.no_grad():
            fwd = median_ms(forward, args.warmups, args.repeats)
        fwdbwd = median_ms(forward_backward, args.warmups, args.repeats)
    flops = 2 * 2 * b * h * t * t * d / 2
    print(f"# sdpa (torch {torch.version.__version__}, {torch.cuda.get_device_name()}): "
          f"fwd {flops / fwd / 1e9:.1f} TFLOP/s, fwd+bwd {3.5 * flops / fwdbwd / 1e9:.1f} TFLOP/s")
    print(f"sdpa_reference fwd_ms={fwd:.4f} fwdbwd_ms={fwdbwd:.4f}")


if __name__ == "__main__":
    main()
