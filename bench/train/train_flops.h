// The FLOP count `kachi bench train` and its PyTorch peer (gpt2_torch.py, same formula) divide by to get MFU.
#ifndef KACHI_BENCH_TRAIN_TRAIN_FLOPS_H_
#define KACHI_BENCH_TRAIN_TRAIN_FLOPS_H_

#include <cstdint>

#include "runtime/model/gpt_shape.h"

namespace kachi {

// Training FLOPs per token of `shape` at sequence length `seq_len`: 6 x (parameters that take part in a matmul:
// all but the position embedding; the tied token embedding counts once, as the LM head) + 12 x layers x width x
// seq_len (attention scores and weighted values, forward and backward, over the full T x T as nanoGPT and PaLM
// count them, although causal kernels skip half).
int64_t TrainFlopsPerToken(const GptShape& shape, int64_t seq_len);

// Model FLOPs utilization: flops_per_token x tokens_per_second as a fraction of peak_tflops (0 when peak <= 0).
double ModelFlopsUtilization(int64_t flops_per_token, double tokens_per_second, double peak_tflops);

}  // namespace kachi

#endif  // KACHI_BENCH_TRAIN_TRAIN_FLOPS_H_
