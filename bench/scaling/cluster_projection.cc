// Data-parallel projection to a GPU cluster (see cluster_projection.h).
#include "bench/scaling/cluster_projection.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "bench/train/train_flops.h"
#include "runtime/model/gpt_shape.h"

namespace kachi {

double ExposedAllReduceSeconds(double grad_bytes, double bucket_bytes, double backward_s,
                               const std::function<double(double)>& bucket_seconds) {
  if (grad_bytes <= 0) return 0;
  const int64_t buckets = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(grad_bytes / bucket_bytes)));
  double finish = 0, offset = 0;
  for (int64_t i = 0; i < buckets; ++i) {
    const double bytes = std::min(bucket_bytes, grad_bytes - offset);
    offset += bytes;
    const double ready = backward_s * offset / grad_bytes;  // this bucket's last gradient is final
    finish = std::max(finish, ready) + bucket_seconds(bytes);
  }
  return std::max(0.0, finish - backward_s);
}

AlphaBeta ClusterAllReduceLink(const config::ClusterSpec& spec, int gpus) {
  if (gpus <= static_cast<int>(spec.gpus_per_host())) {
    return LinkFromBusBandwidth(spec.intra_host_busbw_gbps(), spec.intra_host_alpha_us());
  }
  return LinkFromBusBandwidth(spec.inter_host_busbw_gbps(), spec.inter_host_alpha_us());
}

absl::StatusOr<std::vector<ProjectedPoint>> ProjectCluster(const config::ClusterSpec& spec) {
  if (spec.gpus_per_host() == 0 || spec.intra_host_busbw_gbps() <= 0 || spec.inter_host_busbw_gbps() <= 0 ||
      spec.gpu_tflops() <= 0 || spec.micro_batch() == 0 || spec.seq_len() == 0 || spec.grad_bytes() == 0) {
    return absl::InvalidArgumentError(
        "cluster: gpus_per_host, intra/inter_host_busbw_gbps, gpu_tflops, micro_batch, seq_len and grad_bytes must "
        "be positive");
  }
  if (!(spec.backward_fraction() > 0 && spec.backward_fraction() <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("cluster.backward_fraction ", spec.backward_fraction(),
                                                   " must be in (0, 1]"));
  }
  std::vector<std::string> presets(spec.presets().begin(), spec.presets().end());
  if (presets.empty()) presets = {"gpt2_124m", "gpt2_350m", "gpt2_774m", "gpt2_1558m"};
  std::vector<int> gpus(spec.gpus().begin(), spec.gpus().end());
  if (gpus.empty()) {
    for (int n = 8; n <= 1024; n *= 2) gpus.push_back(n);
  }
  std::vector<ProjectedPoint> out;
  for (const std::string& preset : presets) {
    absl::StatusOr<GptShape> shape = GptPreset(preset);
    if (!shape.ok()) return shape.status();
    const int64_t seq_len = std::min<int64_t>(spec.seq_len(), shape->context);
    const double tokens = static_cast<double>(spec.micro_batch()) * seq_len;
    const double compute = TrainFlopsPerToken(*shape, seq_len) * tokens / (spec.gpu_tflops() * 1e12);
    const double grad_bytes = static_cast<double>(shape->num_parameters()) * spec.grad_bytes();
    const double backward = compute * spec.backward_fraction();
    for (int n : gpus) {
      if (n < 1) return absl::InvalidArgumentError(absl::StrCat("cluster.gpus: ", n, " must be positive"));
      const AlphaBeta link = ClusterAllReduceLink(spec, n);
      auto bucket_seconds = [&](double bytes) { return CollectiveSeconds(CollectiveKind::kAllReduce, n, bytes, link); };
      ProjectedPoint p;
      p.preset = preset;
      p.parameters = shape->num_parameters();
      p.gpus = n;
      p.hosts = std::max<int>(1, (n + spec.gpus_per_host() - 1) / spec.gpus_per_host());
      p.compute_s = compute;
      const double bucket = static_cast<double>(spec.bucket_bytes());
      for (double offset = 0; offset < grad_bytes; offset += bucket) {
        p.allreduce_s += bucket_seconds(std::min(bucket, grad_bytes - offset));
      }
      p.exposed_s = ExposedAllReduceSeconds(grad_bytes, bucket, backward, bucket_seconds);
      p.step_s = compute + p.exposed_s;
      p.efficiency = compute / p.step_s;
      p.tokens_per_s = tokens * n / p.step_s;
      p.best_exposed_s = -1;
      for (uint64_t b = 1 << 20; b <= (uint64_t{1} << 30); b *= 2) {
        const double exposed = ExposedAllReduceSeconds(grad_bytes, static_cast<double>(b), backward, bucket_seconds);
        if (p.best_exposed_s < 0 || exposed < p.best_exposed_s - 1e-12) {
          p.best_exposed_s = exposed;
          p.best_bucket_bytes = b;
        }
      }
      out.push_back(p);
    }
  }
  return out;
}

}  // namespace kachi
