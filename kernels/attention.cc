// CPU reference for causal multi-head attention (see attention.h): one (batch, head, query position) row at a
// time, scores by dot products, a max-subtracted softmax, and the output as a weighted sum of value rows.
#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/vector_ops.h"

namespace kachi::cpu {
namespace {

// Offsets of one head's query, key and value vectors inside a qkv row, and the qkv row stride.
struct QkvLayout {
  int64_t row_stride;    // 3 * NH * HS
  int64_t key_offset;    // NH * HS
  int64_t value_offset;  // 2 * NH * HS

  QkvLayout(int64_t num_heads, int64_t head_size)
      : row_stride(3 * num_heads * head_size),
        key_offset(num_heads * head_size),
        value_offset(2 * num_heads * head_size) {}
};

}  // namespace

template <typename T>
void AttentionForward(T* out, T* att, const T* qkv, int64_t batch, int64_t seq_len, int64_t num_heads,
                      int64_t head_size) {
  const QkvLayout layout(num_heads, head_size);
  const int64_t out_stride = num_heads * head_size;
  const T scale = T(1) / std::sqrt(static_cast<T>(head_size));
  for (int64_t b = 0; b < batch; ++b) {
    const T* qkv_batch = qkv + b * seq_len * layout.row_stride;
    for (int64_t h = 0; h < num_heads; ++h) {
      for (int64_t t = 0; t < seq_len; ++t) {
        const T* query = qkv_batch + t * layout.row_stride + h * head_size;
        T* att_row = att + ((b * num_heads + h) * seq_len + t) * seq_len;
        T row_max = -std::numeric_limits<T>::infinity();
        for (int64_t t2 = 0; t2 <= t; ++t2) {
          const T* key = qkv_batch + t2 * layout.row_stride + layout.key_offset + h * head_size;
          att_row[t2] = internal::Dot(query, key, head_size) * scale;
          row_max = std::max(row_max, att_row[t2]);
        }
        T row_sum = 0;
        for (int64_t t2 = 0; t2 <= t; ++t2) {
          att_row[t2] = std::exp(att_row[t2] - row_max);
          row_sum += att_row[t2];
        }
        const T inv_sum = T(1) / row_sum;
        for (int64_t t2 = 0; t2 <= t; ++t2) att_row[t2] *= inv_sum;
        std::fill(att_row + t + 1, att_row + seq_len, T(0));

        T* out_head = out + (b * seq_len + t) * out_stride + h * head_size;
        std::fill(out_head, out_head + head_size, T(0));
        for (int64_t t2 = 0; t2 <= t; ++t2) {
          const T* value = qkv_batch + t2 * layout.row_stride + layout.value_offset + h * head_size;
          internal::Axpy(out_head, att_row[t2], value, head_size);
        }
      }
    }
  }
}

template <typename T>
void AttentionBackward(T* dqkv, const T* dout, const T* qkv, const T* att, int64_t batch, int64_t seq_len,
                       int64_t num_heads, int64_t head_size) {
  const QkvLayout layout(num_heads, head_size);
  const int64_t out_stride = num_heads * head_size;
  const T scale = T(1) / std::sqrt(static_cast<T>(head_size));
  std::vector<T> datt(seq_len);  // gradient of one row of softmax probabilities
  for (int64_t b = 0; b < batch; ++b) {
    const T* qkv_batch = qkv + b * seq_len * layout.row_stride;
    T* dqkv_batch = dqkv + b * seq_len * layout.row_stride;
    for (int64_t h = 0; h < num_heads; ++h) {
      for (int64_t t = 0; t < seq_len; ++t) {
        const T* att_row = att + ((b * num_heads + h) * seq_len + t) * seq_len;
        const T* dout_head = dout + (b * seq_len + t) * out_stride + h * head_size;
        // out = sum_t2 att[t2] * value[t2]: gradients of att and of the values.
        T att_dot_datt = 0;
        for (int64_t t2 = 0; t2 <= t; ++t2) {
          const int64_t value_at = t2 * layout.row_stride + layout.value_offset + h * head_size;
          datt[t2] = internal::Dot(dout_head, qkv_batch + value_at, head_size);
          internal::Axpy(dqkv_batch + value_at, att_row[t2], dout_head, head_size);
          att_dot_datt += att_row[t2] * datt[t2];
        }
        // Softmax backward, then scores = scale * dot(query, key[t2]).
        const int64_t query_at = t * layout.row_stride + h * head_size;
        for (int64_t t2 = 0; t2 <= t; ++t2) {
          const T dscore = att_row[t2] * (datt[t2] - att_dot_datt) * scale;
          const int64_t key_at = t2 * layout.row_stride + layout.key_offset + h * head_size;
          internal::Axpy(dqkv_batch + query_at, dscore, qkv_batch + key_at, head_size);
          internal::Axpy(dqkv_batch + key_at, dscore, qkv_batch + query_at, head_size);
        }
      }
    }
  }
}

template void AttentionForward<float>(float*, float*, const float*, int64_t, int64_t, int64_t, int64_t);
template void AttentionForward<double>(double*, double*, const double*, int64_t, int64_t, int64_t, int64_t);
template void AttentionBackward<float>(float*, const float*, const float*, const float*, int64_t, int64_t, int64_t,
                                       int64_t);
template void AttentionBackward<double>(double*, const double*, const double*, const double*, int64_t, int64_t, int64_t,
                                        int64_t);

}  // namespace kachi::cpu
