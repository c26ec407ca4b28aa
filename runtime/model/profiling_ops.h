// ProfilingOps: a ModelOps that wraps only the kernel half of another backend: its DeviceContext half (memory
// transfers, events, checkpoint snapshot calls) is passed through untimed by DeviceForwardingOps
// (DownloadConcurrent may run on another thread), and while enabled each kernel op (fills and conversions included)
// is timed by synchronizing the device before and after it, so that each op's time is its own (launch included;
// nothing overlaps while profiling). Times accumulate per op name ("MatmulForward", "MatmulForward.bf16", ...).
// Used by `kachi bench train --bench_profile` to show where a step's time goes.
#ifndef KACHI_RUNTIME_MODEL_PROFILING_OPS_H_
#define KACHI_RUNTIME_MODEL_PROFILING_OPS_H_

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "kernels/base/status_macros.h"
#include "runtime/model/device_forwarding_ops.h"
#include "runtime/model/kernel_ops.h"
#include "runtime/model/model_ops.h"

namespace kachi {

class ProfilingOps : public DeviceForwardingOps {
 public:
  // Accumulated time of one op.
  struct OpTime {
    std::string op;
    int64_t calls = 0;
    double seconds = 0;
  };

  // Kernels from `kernels` (timed), memory and stream from `device`; both must outlive this object. Starts
  // disabled.
  ProfilingOps(DeviceContext* device, KernelOps* kernels) : DeviceForwardingOps(device), kernels_(kernels) {}
  // Both halves from one backend.
  explicit ProfilingOps(ModelOps* inner) : ProfilingOps(inner, inner) {}

  // Timing on or off (off: plain forwarding, no synchronization).
  void set_enabled(bool enabled) { enabled_ = enabled; }
  bool enabled() const { return enabled_; }
  // Forgets every accumulated time.
  void Reset() { times_.clear(); }
  // The accumulated times, largest first.
  std::vector<OpTime> Report() const;

  int64_t AttentionStatsSize(int64_t batch, int64_t heads, int64_t seq_len) const override {
    return kernels_->AttentionStatsSize(batch, heads, seq_len);
  }
  int64_t AttentionScratchSize(int64_t batch, int64_t heads, int64_t seq_len) const override {
    return kernels_->AttentionScratchSize(batch, heads, seq_len);
  }

  // Every kernel op, generated from kernel_op_list.h: timed under its name (bf16 overloads: "<name>.bf16").
#define KACHI_PROFILE_FP32_OP(R, Name, Params, Args, Extents) \
  R Name Params override {                                    \
    return Timed(#Name, [&] { return kernels_->Name Args; }); \
  }
#define KACHI_PROFILE_BF16_OP(R, Name, Params, Args, Extents)         \
  R Name Params override {                                            \
    return Timed(#Name ".bf16", [&] { return kernels_->Name Args; }); \
  }
  KACHI_KERNEL_OPS(KACHI_PROFILE_FP32_OP, float)
  KACHI_FP32_KERNEL_OPS(KACHI_PROFILE_FP32_OP)
  KACHI_COMPOSED_KERNEL_OPS(KACHI_PROFILE_FP32_OP, float)
  KACHI_KERNEL_OPS(KACHI_PROFILE_BF16_OP, Bf16)
  KACHI_BF16_KERNEL_OPS(KACHI_PROFILE_BF16_OP)
  KACHI_COMPOSED_KERNEL_OPS(KACHI_PROFILE_BF16_OP, Bf16)
#undef KACHI_PROFILE_FP32_OP
#undef KACHI_PROFILE_BF16_OP

 private:
  // Runs `call` between two synchronizations of the device and adds its wall time to `op` (when enabled).
  template <typename Call>
  auto Timed(const char* op, Call&& call) -> decltype(call()) {
    if (!enabled_) return call();
    KACHI_RETURN_IF_ERROR(device()->Synchronize());
    const auto start = std::chrono::steady_clock::now();
    auto result = call();
    KACHI_RETURN_IF_ERROR(device()->Synchronize());
    OpTime& time = times_[op];
    time.op = op;
    ++time.calls;
    time.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
  }

  KernelOps* kernels_;
  bool enabled_ = false;
  std::map<std::string, OpTime> times_;
};

}  // namespace kachi

#endif  // KACHI_RUNTIME_MODEL_PROFILING_OPS_H_
