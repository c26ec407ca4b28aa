// Learning-curve extrapolation (issue 18): fits L(t) = a + b * t^-c to a lane's (step, loss) points so far and
// predicts the loss measured at a later step with an uncertainty band. A small robust fit: c on a fixed log grid,
// a and b by least squares for each c (b >= 0: the curve never rises), the best c refined between its grid
// neighbours; the band spans every c whose residual sum of squares is within z^2 residual variances of the best (a
// profile-likelihood interval), each widened by z standard errors of a new measurement there (the linear
// prediction's error and the residual noise). Plain C++, no state: the policy and its tests call it alike.
#ifndef KACHI_LAUNCHER_LANES_CURVE_FIT_H_
#define KACHI_LAUNCHER_LANES_CURVE_FIT_H_

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace kachi::lanes {

// A predicted final loss: the best fit's value and a band [lower, upper] around it.
struct LossPrediction {
  double mean = 0;
  double lower = 0;
  double upper = 0;
  // Residual standard deviation of the best fit.
  double residual_sd = 0;
};

// Fits the power law to `points` (step > 0, finite loss; others are ignored) and predicts the loss at `at_step`.
// `z`: band half-width in standard errors; `noise_floor`: the least residual standard deviation assumed (the band
// is never narrower than z * noise_floor). nullopt with fewer than `min_points` usable points at distinct steps
// (at least 4: one residual degree of freedom) or a degenerate fit.
std::optional<LossPrediction> PredictPowerLaw(const std::vector<std::pair<int64_t, double>>& points, int64_t at_step,
                                              double z, double noise_floor, int min_points = 4);

}  // namespace kachi::lanes

#endif  // KACHI_LAUNCHER_LANES_CURVE_FIT_H_
