// CPU reference for the position embedding add (see position_embedding.h).
#include "kernels/position_embedding.h"

#include "kernels/vector_ops.h"

namespace kachi::cpu {

template <typename T>
void PositionEmbeddingForward(T* out, const T* wpe, int64_t batch, int64_t seq_len, int64_t channels) {
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t t = 0; t < seq_len; ++t) {
      internal::Axpy(out + (b * seq_len + t) * channels, T(1), wpe + t * channels, channels);
    }
  }
}

template <typename T>
void PositionEmbeddingBackward(T* dwpe, const T* dout, int64_t batch, int64_t seq_len, int64_t channels) {
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t t = 0; t < seq_len; ++t) {
      internal::Axpy(dwpe + t * channels, T(1), dout + (b * seq_len + t) * channels, channels);
    }
  }
}

template void PositionEmbeddingForward<float>(float*, const float*, int64_t, int64_t, int64_t);
template void PositionEmbeddingForward<double>(double*, const double*, int64_t, int64_t, int64_t);
template void PositionEmbeddingBackward<float>(float*, const float*, int64_t, int64_t, int64_t);
template void PositionEmbeddingBackward<double>(double*, const double*, int64_t, int64_t, int64_t);

}  // namespace kachi::cpu
