// Learning curves for the simulator: a lane's loss at each step, from a seeded synthetic family
// (loss = a + b * step^-c + noise, some lanes diverging) or from curves recorded by real runs (CSV).
#ifndef KACHI_LAUNCHER_LANES_CURVES_H_
#define KACHI_LAUNCHER_LANES_CURVES_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace kachi::lanes {

// One lane's learning curve.
class LearningCurve {
 public:
  virtual ~LearningCurve() = default;
  // The loss measured at `step` (>= 0); NaN from the divergence step on. Deterministic.
  virtual double LossAt(int64_t step) const = 0;
  // The first step whose loss is NaN, or -1 when the curve never diverges.
  virtual int64_t DivergeStep() const = 0;
};

// The synthetic family: a, b, c uniform in their ranges per lane; Gaussian noise of std `noise` per (lane, step);
// a fraction of the lanes diverges at a step uniform in [1, max_steps].
struct SyntheticFamily {
  double a_min = 2.5, a_max = 3.5;
  double b_min = 1.0, b_max = 2.0;
  double c_min = 0.4, c_max = 0.6;
  double noise = 0.01;
  double diverge_fraction = 0.05;
};

// loss(step) = a + b * max(step, 1)^-c + noise(seed, lane, step).
class SyntheticCurve : public LearningCurve {
 public:
  SyntheticCurve(double a, double b, double c, double noise, int64_t diverge_step, uint64_t noise_seed);
  double LossAt(int64_t step) const override;
  int64_t DivergeStep() const override { return diverge_step_; }
  // The noise-free value a + b * max(step, 1)^-c.
  double MeanAt(int64_t step) const;

 private:
  double a_, b_, c_, noise_;
  int64_t diverge_step_;
  uint64_t noise_seed_;
};

// `lanes` curves of `family`, drawn from `seed` (the same seed gives the same curves). Checks the family's ranges.
absl::StatusOr<std::vector<std::unique_ptr<LearningCurve>>> DrawSyntheticCurves(const SyntheticFamily& family,
                                                                                int lanes, uint64_t seed,
                                                                                int64_t max_steps);

// A recorded curve: (step, loss) points, linearly interpolated between finite points; the first non-finite point
// marks the divergence (NaN from exactly its step; points after it are ignored). Before the first point the loss is
// unknown: NaN (no extrapolation).
class RecordedCurve : public LearningCurve {
 public:
  // `points` sorted by step, steps distinct.
  explicit RecordedCurve(std::vector<std::pair<int64_t, double>> points);
  double LossAt(int64_t step) const override;
  int64_t DivergeStep() const override { return diverge_step_; }
  // The first and the last finite recorded step (-1 when there is none).
  int64_t FirstStep() const { return points_.empty() ? -1 : points_.front().first; }
  int64_t LastStep() const { return points_.empty() ? -1 : points_.back().first; }

 private:
  std::vector<std::pair<int64_t, double>> points_;
  int64_t diverge_step_ = -1;
};

// A recorded curve with the lane name it was recorded under.
struct NamedCurve {
  std::string lane;
  std::unique_ptr<RecordedCurve> curve;
  // Micro-batches per optimizer step (global / micro batch) from the CSV's batch_units column; 0 when absent.
  int batch_units = 0;
  // The lane's learning-rate warmup (optimizer.warmup_steps) from the CSV's warmup_steps column; 0 when absent.
  int64_t warmup_steps = 0;
};

// Parses CSV rows "lane,step,loss", "lane,step,loss,batch_units" or "lane,step,loss,batch_units,warmup_steps" (blank
// lines skipped; "nan" is a divergence), lanes in order of first appearance. Only the first non-blank line may be a
// header, and it must read exactly one of those three; every row has the same number of fields. Errors name the
// source, line and field: a bad field, a repeated step, a lane whose batch_units or warmup_steps changes.
absl::StatusOr<std::vector<NamedCurve>> ParseCurvesCsv(const std::string& text, const std::string& source);
// Reads and parses the CSV file at `path`.
absl::StatusOr<std::vector<NamedCurve>> LoadCurvesCsv(const std::string& path);

}  // namespace kachi::lanes

#endif  // KACHI_LAUNCHER_LANES_CURVES_H_
