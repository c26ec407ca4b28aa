// The bf16 overloads of KernelOps for host memory (see kernel_ops.h): each one widens its bf16 inputs (and the prior
// contents of its outputs, since many ops accumulate) to fp32, runs the fp32 op, and rounds its outputs back to
// bf16 — what a GPU kernel that loads bf16, computes in fp32 and stores bf16 does. Device ops override them all.
// Most are generated from kernel_op_list.h (Emulate, with each argument's element count from the list); the rest
// are written below.
#include <cstring>
#include <initializer_list>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kernels/adamw.h"
#include "kernels/base/status_macros.h"
#include "runtime/model/kernel_ops.h"

namespace kachi {
namespace {

// An fp32 copy of `count` bf16 values (empty for a null pointer), and the way back.
std::vector<float> Widen(const Bf16* data, int64_t count) {
  std::vector<float> out;
  if (data == nullptr) return out;
  out.resize(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) out[i] = ToFloat(data[i]);
  return out;
}
void Narrow(const std::vector<float>& values, Bf16* out) {
  if (out == nullptr) return;
  for (size_t i = 0; i < values.size(); ++i) out[i] = ToBf16(values[i]);
}
float* Ptr(std::vector<float>& v) { return v.empty() ? nullptr : v.data(); }

absl::Status NeedsHost(const KernelOps& ops, const char* op) {
  if (!ops.device_kernels()) return absl::OkStatus();
  return absl::UnimplementedError(absl::StrCat("the ", ops.kernels_name(), " ops have no bf16 ", op));
}

// One argument of an emulated op as the fp32 op takes it: a bf16 array widened to fp32 (and, for an output,
// rounded back by Finish), anything else as it is.
template <typename T>
struct Fp32Arg {
  Fp32Arg(T value, int64_t /*count*/) : value(value) {}
  T get() { return value; }
  void Finish() {}
  T value;
};
template <>
struct Fp32Arg<Bf16*> {
  Fp32Arg(Bf16* data, int64_t count) : data(data), values(Widen(data, count)) {}
  float* get() { return Ptr(values); }
  void Finish() { Narrow(values, data); }
  Bf16* data;
  std::vector<float> values;
};
template <>
struct Fp32Arg<const Bf16*> {
  Fp32Arg(const Bf16* data, int64_t count) : values(Widen(data, count)) {}
  const float* get() { return Ptr(values); }
  void Finish() {}
  std::vector<float> values;
};

// Widens the arguments (extents[i] elements each), runs `fp32_op` on them and rounds the outputs back.
template <typename Fp32Op, size_t... I, typename... Args>
absl::Status EmulateImpl(Fp32Op&& fp32_op, std::initializer_list<int64_t> extents, std::index_sequence<I...>,
                         Args... args) {
  std::tuple<Fp32Arg<Args>...> fp32(Fp32Arg<Args>(args, extents.begin()[I])...);
  KACHI_RETURN_IF_ERROR(fp32_op(std::get<I>(fp32).get()...));
  (std::get<I>(fp32).Finish(), ...);
  return absl::OkStatus();
}
template <typename Fp32Op, typename... Args>
absl::Status Emulate(Fp32Op&& fp32_op, std::initializer_list<int64_t> extents, Args... args) {
  return EmulateImpl(fp32_op, extents, std::index_sequence_for<Args...>(), args...);
}

}  // namespace

// The bf16 ops emulated by widening, generated from kernel_op_list.h.
#define KACHI_EMULATE_OP(R, Name, Params, Args, Extents)                                                         \
  R KernelOps::Name Params {                                                                                     \
    KACHI_RETURN_IF_ERROR(NeedsHost(*this, #Name));                                                              \
    return Emulate([this](auto... a) { return this->Name(a...); }, {KACHI_OP_ARGS Extents}, KACHI_OP_ARGS Args); \
  }
KACHI_WIDENED_KERNEL_OPS(KACHI_EMULATE_OP, Bf16)
#undef KACHI_EMULATE_OP

absl::Status KernelOps::Fill(Bf16* data, float value, int64_t count) {
  KACHI_RETURN_IF_ERROR(NeedsHost(*this, "Fill"));
  const Bf16 v = ToBf16(value);
  for (int64_t i = 0; i < count; ++i) data[i] = v;
  return absl::OkStatus();
}

absl::Status KernelOps::Scale(Bf16* data, float scale, int64_t count) {
  KACHI_RETURN_IF_ERROR(NeedsHost(*this, "Scale"));
  for (int64_t i = 0; i < count; ++i) data[i] = ToBf16(ToFloat(data[i]) * scale);
  return absl::OkStatus();
}

absl::Status KernelOps::Convert(Bf16* dst, const float* src, int64_t count) {
  KACHI_RETURN_IF_ERROR(NeedsHost(*this, "Convert"));
  for (int64_t i = 0; i < count; ++i) dst[i] = ToBf16(src[i]);
  return absl::OkStatus();
}

absl::Status KernelOps::Convert(float* dst, const Bf16* src, int64_t count) {
  KACHI_RETURN_IF_ERROR(NeedsHost(*this, "Convert"));
  for (int64_t i = 0; i < count; ++i) dst[i] = ToFloat(src[i]);
  return absl::OkStatus();
}

absl::Status KernelOps::MatmulBackwardThroughGelu(Bf16* dpre_gelu, Bf16* dpre_bias, Bf16* dweight, Bf16* dbias,
                                                  const Bf16* dout, const Bf16* in, const Bf16* weight,
                                                  const Bf16* pre_gelu, int64_t rows, int64_t in_channels,
                                                  int64_t out_channels) {
  KACHI_RETURN_IF_ERROR(NeedsHost(*this, "MatmulBackwardThroughGelu"));
  std::vector<float> dp(rows * in_channels),
      dw = Widen(dweight, out_channels * in_channels), db = Widen(dbias, out_channels),
      d = Widen(dout, rows * out_channels), x = Widen(in, rows * in_channels),
      w = Widen(weight, out_channels * in_channels), p = Widen(pre_gelu, rows * in_channels);
  KACHI_RETURN_IF_ERROR(MatmulBackwardThroughGelu(Ptr(dp), nullptr, Ptr(dw), Ptr(db), Ptr(d), Ptr(x), Ptr(w), Ptr(p),
                                                  rows, in_channels, out_channels));
  Narrow(dp, dpre_gelu);
  Narrow(dw, dweight);
  Narrow(db, dbias);
  if (dpre_bias == nullptr) return absl::OkStatus();
  // The bias gradient sums the stored (rounded) dpre_gelu, as the GPU's column-sum kernel does.
  std::vector<float> sums = Widen(dpre_bias, in_channels);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < in_channels; ++c) sums[c] += ToFloat(dpre_gelu[r * in_channels + c]);
  }
  Narrow(sums, dpre_bias);
  return absl::OkStatus();
}

absl::Status KernelOps::AdamWStep(float* master, Bf16* param, const Bf16* grad, float* m, float* v, int64_t count,
                                  double learning_rate, double beta1, double beta2, double eps, double weight_decay,
                                  int64_t step, float grad_scale) {
  KACHI_RETURN_IF_ERROR(NeedsHost(*this, "AdamWStep"));
  std::vector<float> g = Widen(grad, count);
  for (float& x : g) x *= grad_scale;
  cpu::AdamWStep(master, g.data(), m, v, count, learning_rate, beta1, beta2, eps, weight_decay, step);
  for (int64_t i = 0; i < count; ++i) param[i] = ToBf16(master[i]);
  return absl::OkStatus();
}

absl::StatusOr<double> KernelOps::SumOfSquares(const Bf16* data, int64_t count) {
  KACHI_RETURN_IF_ERROR(NeedsHost(*this, "SumOfSquares"));
  double sum = 0;
  for (int64_t i = 0; i < count; ++i) {
    const double x = ToFloat(data[i]);
    sum += x * x;
  }
  return sum;
}

}  // namespace kachi
