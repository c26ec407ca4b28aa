// The CPU ModelOps: host memory and the reference kernels of kernels/ (see model_ops.h).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "kernels/cpu_kernels.h"
#include "runtime/model/model_ops.h"

namespace kachi {
namespace {

// The CPU twin of every kernel op: kernels/ cpu::<op>, plus the few ops whose twin is spelled differently (a
// qualified name found here hides cpu::'s, so these take the ops' full argument list).
namespace twin {
using namespace ::kachi::cpu;  // NOLINT: the kernels of kernels/*.h
void Fill(float* data, float value, int64_t count) { std::fill(data, data + count, value); }
void Scale(float* data, float scale, int64_t count) {
  for (int64_t i = 0; i < count; ++i) data[i] *= scale;
}
// The CPU keeps the probabilities as stats and needs neither the forward's output nor scratch.
void AttentionBackward(float* dqkv, const float* dout, const float* qkv, const float* /*out*/, const float* stats,
                       float* /*scratch*/, int64_t batch, int64_t seq_len, int64_t heads, int64_t head_size) {
  cpu::AttentionBackward(dqkv, dout, qkv, stats, batch, seq_len, heads, head_size);
}
}  // namespace twin

// The result of a CPU kernel as the op's return value: OK for a void kernel, else the kernel's value.
template <typename Call>
auto AsStatus(Call&& call) {
  if constexpr (std::is_void_v<decltype(call())>) {
    call();
    return absl::OkStatus();
  } else {
    return call();
  }
}

class CpuOps : public ModelOps {
 public:
  absl::string_view name() const override { return "cpu"; }
  bool device_memory() const override { return false; }

  float* AllocateFloats(int64_t count) override {
    return static_cast<float*>(std::calloc(static_cast<size_t>(count), sizeof(float)));
  }
  int32_t* AllocateInts(int64_t count) override {
    return static_cast<int32_t*>(std::calloc(static_cast<size_t>(count), sizeof(int32_t)));
  }
  void Release(void* data) override { std::free(data); }
  absl::Status Upload(void* dst, const void* src, size_t bytes) override {
    if (bytes > 0) std::memmove(dst, src, bytes);
    return absl::OkStatus();
  }
  absl::Status Download(void* dst, const void* src, size_t bytes) override { return Upload(dst, src, bytes); }
  absl::Status Synchronize() override { return absl::OkStatus(); }
  // Every op is complete on return: nothing to mark.
  absl::StatusOr<void*> RecordEvent() override { return nullptr; }
  void ReleaseEvent(void*) override {}

  void* AllocateBytes(size_t bytes) override { return bytes == 0 ? nullptr : std::calloc(bytes, 1); }
  absl::Status CopyAsync(void* dst, const void* src, size_t bytes) override { return Upload(dst, src, bytes); }
  void* AllocateHost(size_t bytes) override { return AllocateBytes(bytes); }
  void ReleaseHost(void* data) override { std::free(data); }
  absl::Status DownloadConcurrent(void* dst, const void* src, size_t bytes) override { return Upload(dst, src, bytes); }

  int64_t AttentionStatsSize(int64_t batch, int64_t heads, int64_t seq_len) const override {
    return batch * heads * seq_len * seq_len;  // the softmax probabilities
  }
  int64_t AttentionScratchSize(int64_t, int64_t, int64_t) const override { return 0; }

  // Every fp32 kernel op, generated from kernel_op_list.h: its CPU twin (twin:: below), an OK status on return.
#define KACHI_CPU_OP(R, Name, Params, Args, Extents)  \
  R Name Params override {                            \
    return AsStatus([&] { return twin::Name Args; }); \
  }
  KACHI_KERNEL_OPS(KACHI_CPU_OP, float)
  KACHI_FP32_KERNEL_OPS(KACHI_CPU_OP)
#undef KACHI_CPU_OP
};

}  // namespace

ModelOps& CpuModelOps() {
  static CpuOps* ops = new CpuOps();
  return *ops;
}

}  // namespace kachi
