// Alpha-beta collective costs and their fit (see alpha_beta.h).
#include "bench/scaling/alpha_beta.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"

namespace kachi {
namespace {

double Log2Steps(int ranks) { return std::ceil(std::log2(static_cast<double>(ranks))); }

}  // namespace

AlphaBeta LinkFromBusBandwidth(double busbw_gbps, double alpha_us) {
  return AlphaBeta{alpha_us * 1e-6, busbw_gbps > 0 ? 1.0 / (busbw_gbps * 1e9) : 0.0};
}

double CollectiveSeconds(CollectiveKind kind, int ranks, double bytes, const AlphaBeta& link,
                         CollectiveAlgorithm algorithm) {
  if (ranks <= 1) return 0;
  const double p = ranks;
  const double a = link.alpha_s, b = link.beta_s_per_byte;
  switch (kind) {
    case CollectiveKind::kAllReduce: {
      const double bandwidth = 2 * (p - 1) / p * bytes * b;
      const double ring = 2 * (p - 1) * a + bandwidth;
      const double tree = 2 * Log2Steps(ranks) * a + bandwidth;
      if (algorithm == CollectiveAlgorithm::kRing) return ring;
      if (algorithm == CollectiveAlgorithm::kTree) return tree;
      return std::min(ring, tree);
    }
    case CollectiveKind::kReduceScatter: return (p - 1) * a + (p - 1) / p * bytes * b;
    case CollectiveKind::kAllGather: return (p - 1) * a + (p - 1) * bytes * b;
    case CollectiveKind::kBroadcast: return Log2Steps(ranks) * (a + bytes * b);
    case CollectiveKind::kBarrier: return 2 * Log2Steps(ranks) * a;
    case CollectiveKind::kSplit: return 0;
  }
  return 0;
}

absl::StatusOr<AlphaBeta> FitAllReduceAlphaBeta(const std::vector<CollectiveSample>& samples) {
  std::set<double> sizes;
  for (const CollectiveSample& sample : samples) {
    if (!(sample.seconds > 0) || !std::isfinite(sample.seconds)) {
      return absl::InvalidArgumentError(
          absl::StrCat("alpha-beta fit: a sample of ", sample.bytes, " bytes took ", sample.seconds,
                       " s; expected a positive time"));
    }
    if (sample.ranks > 1) sizes.insert(sample.bytes);
  }
  if (sizes.size() < 2) {
    return absl::InvalidArgumentError(absl::StrCat("alpha-beta fit: ", sizes.size(),
                                                   " distinct sizes on more than one rank; need at least 2"));
  }
  // Rows t = alpha x + beta y with x = 2(p-1), y = 2(p-1)/p S, divided by t (relative residuals).
  double sxx = 0, sxy = 0, syy = 0, sx = 0, sy = 0;
  for (const CollectiveSample& sample : samples) {
    if (sample.ranks <= 1) continue;
    const double p = sample.ranks;
    const double x = 2 * (p - 1) / sample.seconds;
    const double y = 2 * (p - 1) / p * sample.bytes / sample.seconds;
    sxx += x * x;
    sxy += x * y;
    syy += y * y;
    sx += x;  // right-hand side is 1 after dividing by t
    sy += y;
  }
  const double det = sxx * syy - sxy * sxy;
  AlphaBeta fit;
  if (det > 0) {
    fit.alpha_s = (sx * syy - sy * sxy) / det;
    fit.beta_s_per_byte = (sy * sxx - sx * sxy) / det;
  }
  if (det <= 0 || fit.alpha_s < 0 || fit.beta_s_per_byte < 0) {
    // One parameter: keep the one whose single fit leaves the smaller residual, sum (1 - c z_i)^2 = n - s^2 / ss.
    const AlphaBeta alpha_only{sxx > 0 ? sx / sxx : 0, 0};
    const AlphaBeta beta_only{0, syy > 0 ? sy / syy : 0};
    const double explained_alpha = sxx > 0 ? sx * sx / sxx : 0;
    const double explained_beta = syy > 0 ? sy * sy / syy : 0;
    fit = explained_alpha >= explained_beta ? alpha_only : beta_only;
  }
  return fit;
}

}  // namespace kachi
