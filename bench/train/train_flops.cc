// FLOPs per training token and MFU (see train_flops.h).
#include "bench/train/train_flops.h"

namespace kachi {

int64_t TrainFlopsPerToken(const GptShape& shape, int64_t seq_len) {
  const int64_t matmul_parameters = shape.num_parameters() - shape.context * shape.width;
  return 6 * matmul_parameters + 12 * shape.layers * shape.width * seq_len;
}

double ModelFlopsUtilization(int64_t flops_per_token, double tokens_per_second, double peak_tflops) {
  if (peak_tflops <= 0) return 0;
  return static_cast<double>(flops_per_token) * tokens_per_second / (peak_tflops * 1e12);
}

}  // namespace kachi
