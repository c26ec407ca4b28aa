// Shard <-> global tensor copies by row ranges and column range (see tensor_shard.h); instantiated for float,
// double and 16-bit storage (uint16_t: bf16/fp16 bits).
#include "runtime/io/tensor_shard.h"

#include <algorithm>

namespace kachi {

int64_t GlobalElementCount(const ParameterSpec& spec) { return spec.global_rows * spec.global_cols; }

template <typename T>
void AssembleGlobal(const ParameterSpec& spec, const T* local, T* global) {
  for (const RowRange& range : spec.rows) {
    for (int64_t r = 0; r < range.count; ++r) {
      T* row = global + (range.start + r) * spec.global_cols + spec.col_start;
      std::copy(local, local + spec.local_cols, row);
      local += spec.local_cols;
    }
  }
}

template <typename T>
void ExtractLocal(const ParameterSpec& spec, const T* global, T* local) {
  for (const RowRange& range : spec.rows) {
    for (int64_t r = 0; r < range.count; ++r) {
      const T* row = global + (range.start + r) * spec.global_cols + spec.col_start;
      std::copy(row, row + spec.local_cols, local);
      local += spec.local_cols;
    }
  }
}

template void AssembleGlobal<float>(const ParameterSpec&, const float*, float*);
template void AssembleGlobal<double>(const ParameterSpec&, const double*, double*);
template void AssembleGlobal<uint16_t>(const ParameterSpec&, const uint16_t*, uint16_t*);
template void ExtractLocal<float>(const ParameterSpec&, const float*, float*);
template void ExtractLocal<double>(const ParameterSpec&, const double*, double*);
template void ExtractLocal<uint16_t>(const ParameterSpec&, const uint16_t*, uint16_t*);

}  // namespace kachi
