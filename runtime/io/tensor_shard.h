// Moving one tensor between a rank's shard and the global tensor, driven by ParameterSpec alone (its global row
// ranges times its column range): the rank-count-independent assembly that weight export and checkpoints use.
#ifndef KACHI_RUNTIME_IO_TENSOR_SHARD_H_
#define KACHI_RUNTIME_IO_TENSOR_SHARD_H_

#include <cstdint>

#include "runtime/model/parameter_layout.h"

namespace kachi {

// Elements of the global tensor (global_rows * global_cols).
int64_t GlobalElementCount(const ParameterSpec& spec);

// Writes the spec.size elements of `local` (the shard in local order: its row ranges in order, each row's
// local_cols columns) to their places in `global` (row-major [global_rows, global_cols]). Other elements of
// `global` are left as they are, so calling it for every rank's spec and shard assembles the whole tensor.
template <typename T>
void AssembleGlobal(const ParameterSpec& spec, const T* local, T* global);

// Copies the shard described by `spec` out of `global` (row-major [global_rows, global_cols]) into `local`
// (spec.size elements, local order). The inverse of AssembleGlobal.
template <typename T>
void ExtractLocal(const ParameterSpec& spec, const T* global, T* local);

}  // namespace kachi

#endif  // KACHI_RUNTIME_IO_TENSOR_SHARD_H_
