// ShardedAdamW (see optimizer.h).
#include "runtime/train/optimizer.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "kernels/base/status_macros.h"

namespace kachi {

ShardedAdamW::ShardedAdamW(const ParameterLayout& layout, FlatRange range, bool range_is_shard, Communicator* tp,
                           Communicator* dp, AdamWOptions options, ModelOps* ops, bool mixed_precision)
    : range_(range),
      range_is_shard_(range_is_shard),
      tp_(tp != nullptr && tp->size() > 1 ? tp : nullptr),
      dp_(dp != nullptr && dp->size() > 1 ? dp : nullptr),
      options_(options),
      ops_(ops != nullptr ? ops : &CpuModelOps()),
      m_(ops_, range.end - range.begin),
      v_(ops_, range.end - range.begin),
      mixed_(mixed_precision) {
  if (mixed_) master_.Reset(ops_, range.end - range.begin);
  // Extends the last run when `begin` continues it with the same decay, else starts a new one.
  auto append = [](std::vector<Run>& runs, int64_t begin, int64_t end, bool decay) {
    if (!runs.empty() && runs.back().end == begin && runs.back().decay == decay) {
      runs.back().end = end;
    } else {
      runs.push_back({begin, end, decay});
    }
  };
  for (const ParameterSpec& spec : layout.tensors()) {
    const int64_t begin = std::max(range.begin, spec.offset);
    const int64_t end = std::min(range.end, spec.offset + spec.size);
    if (begin >= end) continue;
    append(update_runs_, begin, end, spec.decay);
    if (!(spec.tp_replicated && layout.tp_rank() != 0)) append(norm_runs_, begin, end, false);
  }
}

absl::Status ShardedAdamW::allocation_status() const {
  for (const OpsBuffer<float>* buffer : {&m_, &v_, &master_}) {
    if (!buffer->status().ok()) {
      return absl::ResourceExhaustedError(absl::StrCat("optimizer state: ", buffer->status().message()));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<double> ShardedAdamW::GlobalGradNorm(const float* range_grads) { return NormOf(range_grads); }

absl::StatusOr<double> ShardedAdamW::GlobalGradNorm(const Bf16* range_grads) { return NormOf(range_grads); }

template <typename G>
absl::StatusOr<double> ShardedAdamW::NormOf(const G* range_grads) {
  double local = 0;
  for (const Run& run : norm_runs_) {
    KACHI_ASSIGN_OR_RETURN(const double sum,
                           ops_->SumOfSquares(range_grads + (run.begin - range_.begin), run.end - run.begin));
    local += sum;
  }
  // Partial sums are exact in double per rank; the cross-rank sum runs in fp32 (relative error ~1e-7, far below
  // what clipping needs).
  float total = static_cast<float>(local);
  if (tp_ != nullptr) {
    KACHI_RETURN_IF_ERROR(tp_->AllReduce(&total, &total, 1, DType::kFloat32, ReduceOp::kSum));
  }
  if (range_is_shard_ && dp_ != nullptr) {
    KACHI_RETURN_IF_ERROR(dp_->AllReduce(&total, &total, 1, DType::kFloat32, ReduceOp::kSum));
  }
  return std::sqrt(static_cast<double>(total));
}

absl::StatusOr<float> ShardedAdamW::ClipScale(double norm) const {
  if (!std::isfinite(norm)) {
    return absl::DataLossError("gradient norm is not finite (NaN/Inf in gradients): the run diverged");
  }
  if (options_.grad_clip <= 0 || norm <= options_.grad_clip) return 1.0f;
  return static_cast<float>(options_.grad_clip / (norm + 1e-6));
}

absl::StatusOr<double> ShardedAdamW::Step(float* params, float* range_grads, double learning_rate) {
  KACHI_ASSIGN_OR_RETURN(const double norm, GlobalGradNorm(range_grads));
  KACHI_ASSIGN_OR_RETURN(const float clip_scale, ClipScale(norm));
  if (clip_scale != 1.0f) KACHI_RETURN_IF_ERROR(ops_->Scale(range_grads, clip_scale, range_.end - range_.begin));
  ++step_;
  for (const Run& run : update_runs_) {
    const int64_t local = run.begin - range_.begin;
    KACHI_RETURN_IF_ERROR(ops_->AdamWStep(params + run.begin, range_grads + local, m_.data() + local, v_.data() + local,
                                          run.end - run.begin, learning_rate, options_.beta1, options_.beta2,
                                          options_.eps, run.decay ? options_.weight_decay : 0.0, step_));
  }
  return norm;
}

absl::StatusOr<double> ShardedAdamW::Step(Bf16* params, const Bf16* range_grads, double learning_rate) {
  if (!mixed_) return absl::FailedPreconditionError("bf16 optimizer step on an optimizer without master weights");
  KACHI_ASSIGN_OR_RETURN(const double norm, GlobalGradNorm(range_grads));
  KACHI_ASSIGN_OR_RETURN(const float clip_scale, ClipScale(norm));
  ++step_;
  for (const Run& run : update_runs_) {
    const int64_t local = run.begin - range_.begin;
    KACHI_RETURN_IF_ERROR(ops_->AdamWStep(master_.data() + local, params + run.begin, range_grads + local,
                                          m_.data() + local, v_.data() + local, run.end - run.begin, learning_rate,
                                          options_.beta1, options_.beta2, options_.eps,
                                          run.decay ? options_.weight_decay : 0.0, step_, clip_scale));
  }
  return norm;
}

absl::Status ShardedAdamW::SetMaster(const float* host_range) {
  if (!mixed_) return absl::FailedPreconditionError("SetMaster on an optimizer without master weights");
  return ops_->Upload(master_.data(), host_range, master_.size() * sizeof(float));
}

}  // namespace kachi
