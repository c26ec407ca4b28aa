// The seeded curve families of the policy-quality benchmark.
#include "launcher/lanes/curve_families.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "kernels/base/splitmix64.h"

namespace kachi::lanes {
namespace {

using base::SplitMix64;

double Unit(uint64_t bits) { return (static_cast<double>(bits >> 11) + 0.5) * 0x1.0p-53; }

// a + b * e(step)^-c + noise, e under a linear warmup of `warmup` steps.
class WarmupPowerLaw : public LearningCurve {
 public:
  WarmupPowerLaw(double a, double b, double c, int64_t warmup, double noise, int64_t diverge, uint64_t seed)
      : a_(a), b_(b), c_(c), warmup_(warmup), noise_(noise), diverge_(diverge), seed_(seed) {}
  double MeanAt(int64_t step) const {
    const double s = static_cast<double>(step);
    const double w = static_cast<double>(warmup_);
    const double e = warmup_ > 0 && s < w ? s * s / (2 * w) : s - w / 2;
    return a_ + b_ * std::pow(std::max(e, 1.0), -c_);
  }
  double LossAt(int64_t step) const override {
    if (diverge_ >= 0 && step >= diverge_) return std::numeric_limits<double>::quiet_NaN();
    const uint64_t h = SplitMix64(seed_ ^ SplitMix64(static_cast<uint64_t>(step)));
    return MeanAt(step) + noise_ * std::sqrt(-2.0 * std::log(Unit(h))) * std::cos(2.0 * M_PI * Unit(SplitMix64(h)));
  }
  int64_t DivergeStep() const override { return diverge_; }

 private:
  double a_, b_, c_;
  int64_t warmup_;
  double noise_;
  int64_t diverge_;
  uint64_t seed_;
};

}  // namespace

std::vector<std::string> CurveFamilyNames() {
  return {"powerlaw", "crossing", "late-bloomers", "warmup-heavy", "divergers"};
}

absl::StatusOr<std::vector<FamilyLane>> DrawFamily(const std::string& name, int lanes, uint64_t seed,
                                                   int64_t max_steps) {
  const std::vector<std::string> names = CurveFamilyNames();
  if (std::find(names.begin(), names.end(), name) == names.end()) {
    return absl::InvalidArgumentError(absl::StrCat("curve family '", name, "'; expected one of ",
                                                   absl::StrJoin(names, ", ")));
  }
  std::mt19937_64 gen(seed * 0x9e3779b97f4a7c15ULL + std::hash<std::string>{}(name));
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  auto in = [&](double lo, double hi) { return lo + (hi - lo) * unit(gen); };
  std::vector<FamilyLane> out;
  for (int lane = 0; lane < lanes; ++lane) {
    double a = in(1.8, 2.2), b = in(1.0, 2.0), c = in(0.4, 0.6);
    int64_t warmup = 0;
    double diverge_p = 0.05;
    double diverge_lower = 0;
    if (name == "crossing") {
      c = in(0.2, 0.8);
      b = 0.5 + 5 * (c - 0.2);  // steep curves start high and cross the flat ones
      a = in(1.8, 2.0);
    } else if (name == "late-bloomers" && unit(gen) < 0.2) {
      a -= 0.1;  // slow starters that end best
      c = in(0.2, 0.3);
      b = in(2.0, 3.0);
    } else if (name == "warmup-heavy") {
      static const int64_t kWarmups[] = {0, 100, 300, 1000, 2000};
      warmup = kWarmups[static_cast<int>(unit(gen) * 5) % 5];
      a -= 0.02 * std::log2(1.0 + warmup / 100.0);  // longer warmups end a little better
    } else if (name == "divergers") {
      diverge_p = 0.3;
      diverge_lower = 0.05;  // aggressive settings look best until they blow up
    }
    const bool diverges = unit(gen) < diverge_p;
    if (diverges) a -= diverge_lower;
    const int64_t diverge_at = diverges ? 1 + static_cast<int64_t>(unit(gen) * static_cast<double>(max_steps)) : -1;
    auto curve = std::make_unique<WarmupPowerLaw>(a, b, c, warmup, 0.01, diverge_at, gen());
    FamilyLane entry;
    const double final_loss = curve->LossAt(max_steps);
    const double inf = std::numeric_limits<double>::infinity();
    entry.true_final = std::isfinite(final_loss) ? final_loss : inf;
    entry.expected_final = std::isfinite(final_loss) ? curve->MeanAt(max_steps) : inf;
    entry.warmup_steps = warmup;
    entry.curve = std::move(curve);
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace kachi::lanes
