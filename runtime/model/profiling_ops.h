// ProfilingOps: a ModelOps that forwards every call to another ModelOps and, while enabled, times each kernel op
// (fills and conversions included) by synchronizing the inner ops before and after it, so that each op's time is
// its own (launch included; nothing overlaps while profiling). Times accumulate per op name ("MatmulForward",
// "MatmulForward.bf16", ...). Used by `kachi bench train --bench_profile` to show where a step's time goes; memory
// transfers and checkpoint snapshot calls are forwarded untimed (DownloadConcurrent may run on another thread).
#ifndef KACHI_RUNTIME_MODEL_PROFILING_OPS_H_
#define KACHI_RUNTIME_MODEL_PROFILING_OPS_H_

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "kernels/base/status_macros.h"
#include "runtime/model/model_ops.h"

namespace kachi {

class ProfilingOps : public ModelOps {
 public:
  // Accumulated time of one op.
  struct OpTime {
    std::string op;
    int64_t calls = 0;
    double seconds = 0;
  };

  // Forwards to `inner`, which must outlive this object. Starts disabled.
  explicit ProfilingOps(ModelOps* inner) : inner_(inner) {}

  // Timing on or off (off: plain forwarding, no synchronization).
  void set_enabled(bool enabled) { enabled_ = enabled; }
  bool enabled() const { return enabled_; }
  // Forgets every accumulated time.
  void Reset() { times_.clear(); }
  // The accumulated times, largest first.
  std::vector<OpTime> Report() const;

  absl::string_view name() const override { return inner_->name(); }
  bool device_memory() const override { return inner_->device_memory(); }
  float* AllocateFloats(int64_t count) override { return inner_->AllocateFloats(count); }
  int32_t* AllocateInts(int64_t count) override { return inner_->AllocateInts(count); }
  void Release(void* data) override { return inner_->Release(data); }
  absl::Status Upload(void* dst, const void* host_src, size_t bytes) override {
    return inner_->Upload(dst, host_src, bytes);
  }
  absl::Status Download(void* host_dst, const void* src, size_t bytes) override {
    return inner_->Download(host_dst, src, bytes);
  }
  absl::Status Synchronize() override { return inner_->Synchronize(); }
  absl::StatusOr<void*> RecordEvent() override { return inner_->RecordEvent(); }
  void ReleaseEvent(void* event) override { inner_->ReleaseEvent(event); }
  void* AllocateBytes(size_t bytes) override { return inner_->AllocateBytes(bytes); }
  absl::Status CopyAsync(void* dst, const void* src, size_t bytes) override {
    return inner_->CopyAsync(dst, src, bytes);
  }
  void* AllocateHost(size_t bytes) override { return inner_->AllocateHost(bytes); }
  void ReleaseHost(void* data) override { return inner_->ReleaseHost(data); }
  absl::Status DownloadConcurrent(void* host_dst, const void* src, size_t bytes) override {
    return inner_->DownloadConcurrent(host_dst, src, bytes);
  }
  int64_t AttentionStatsSize(int64_t batch, int64_t heads, int64_t seq_len) const override {
    return inner_->AttentionStatsSize(batch, heads, seq_len);
  }
  int64_t AttentionScratchSize(int64_t batch, int64_t heads, int64_t seq_len) const override {
    return inner_->AttentionScratchSize(batch, heads, seq_len);
  }

  // Every kernel op, generated from kernel_op_list.h: timed under its name (bf16 overloads: "<name>.bf16").
#define KACHI_PROFILE_FP32_OP(R, Name, Params, Args, Extents) \
  R Name Params override {                                    \
    return Timed(#Name, [&] { return inner_->Name Args; });   \
  }
#define KACHI_PROFILE_BF16_OP(R, Name, Params, Args, Extents)       \
  R Name Params override {                                          \
    return Timed(#Name ".bf16", [&] { return inner_->Name Args; }); \
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
  // Runs `call` between two synchronizations of the inner ops and adds its wall time to `op` (when enabled).
  template <typename Call>
  auto Timed(const char* op, Call&& call) -> decltype(call()) {
    if (!enabled_) return call();
    KACHI_RETURN_IF_ERROR(inner_->Synchronize());
    const auto start = std::chrono::steady_clock::now();
    auto result = call();
    KACHI_RETURN_IF_ERROR(inner_->Synchronize());
    OpTime& time = times_[op];
    time.op = op;
    ++time.calls;
    time.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
  }

  ModelOps* inner_;
  bool enabled_ = false;
  std::map<std::string, OpTime> times_;
};

}  // namespace kachi

#endif  // KACHI_RUNTIME_MODEL_PROFILING_OPS_H_
