// Power-law learning-curve fit: grid over the exponent, least squares for the offset and scale.
#include "launcher/lanes/curve_fit.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace kachi::lanes {
namespace {

// One exponent's least-squares fit of loss = a + b * x, x = step^-c.
struct LinearFit {
  double c = 0, a = 0, b = 0, sse = 0;
  double x_mean = 0, sxx = 0;
};

LinearFit FitAt(const std::vector<std::pair<double, double>>& pts, double c) {
  LinearFit fit;
  fit.c = c;
  const double n = static_cast<double>(pts.size());
  double sx = 0, sy = 0;
  for (const auto& [t, y] : pts) sx += std::pow(t, -c), sy += y;
  fit.x_mean = sx / n;
  const double y_mean = sy / n;
  double sxy = 0;
  for (const auto& [t, y] : pts) {
    const double dx = std::pow(t, -c) - fit.x_mean;
    fit.sxx += dx * dx;
    sxy += dx * (y - y_mean);
  }
  fit.b = fit.sxx > 0 ? std::max(0.0, sxy / fit.sxx) : 0;  // a rising curve is fitted flat
  fit.a = y_mean - fit.b * fit.x_mean;
  for (const auto& [t, y] : pts) {
    const double r = y - fit.a - fit.b * std::pow(t, -c);
    fit.sse += r * r;
  }
  return fit;
}

}  // namespace

std::optional<LossPrediction> PredictPowerLaw(const std::vector<std::pair<int64_t, double>>& points, int64_t at_step,
                                              double z, double noise_floor, int min_points) {
  // Usable points, one per step (the latest report of a step wins), ascending.
  std::vector<std::pair<double, double>> pts;
  for (const auto& [step, loss] : points) {
    if (step <= 0 || !std::isfinite(loss)) continue;
    auto it = std::find_if(pts.begin(), pts.end(), [&](const auto& p) { return p.first == step; });
    if (it != pts.end()) {
      it->second = loss;
    } else {
      pts.emplace_back(static_cast<double>(step), loss);
    }
  }
  if (static_cast<int>(pts.size()) < std::max(4, min_points) || at_step <= 0) return std::nullopt;
  // The exponent on a log grid 0.05..3 (40 values).
  constexpr int kGrid = 40;
  std::vector<LinearFit> fits;
  for (int i = 0; i < kGrid; ++i) fits.push_back(FitAt(pts, 0.05 * std::pow(60.0, i / (kGrid - 1.0))));
  auto by_sse = [](const LinearFit& x, const LinearFit& y) { return x.sse < y.sse; };
  // The best grid exponent refined by golden-section search between its grid neighbours.
  const int i_best = static_cast<int>(std::min_element(fits.begin(), fits.end(), by_sse) - fits.begin());
  double lo = fits[std::max(0, i_best - 1)].c, hi = fits[std::min(kGrid - 1, i_best + 1)].c;
  const double g = (std::sqrt(5.0) - 1) / 2;
  for (int it = 0; it < 30; ++it) {
    const double c1 = hi - g * (hi - lo), c2 = lo + g * (hi - lo);
    if (FitAt(pts, c1).sse < FitAt(pts, c2).sse) hi = c2; else lo = c1;
  }
  fits.push_back(FitAt(pts, (lo + hi) / 2));
  const LinearFit best = *std::min_element(fits.begin(), fits.end(), by_sse);
  const double n = static_cast<double>(pts.size());
  const double sd = std::max(noise_floor, std::sqrt(best.sse / (n - 3)));
  if (!std::isfinite(sd)) return std::nullopt;
  const double t = static_cast<double>(at_step);
  LossPrediction out;
  out.mean = best.a + best.b * std::pow(t, -best.c);
  out.residual_sd = sd;
  out.lower = std::numeric_limits<double>::infinity();
  out.upper = -out.lower;
  for (const LinearFit& fit : fits) {
    if (fit.sse > best.sse + z * z * sd * sd) continue;
    const double x = std::pow(t, -fit.c);
    const double pred = fit.a + fit.b * x;
    const double dx = x - fit.x_mean;
    // A measured loss at `at_step`, not the curve's mean: the observation's own noise (the 1) plus the fit's.
    const double se = sd * std::sqrt(1 + 1 / n + (fit.sxx > 0 ? dx * dx / fit.sxx : 0));
    out.lower = std::min(out.lower, pred - z * se);
    out.upper = std::max(out.upper, pred + z * se);
  }
  out.lower = std::min(out.lower, out.mean - z * noise_floor);
  out.upper = std::max(out.upper, out.mean + z * noise_floor);
  return out;
}

}  // namespace kachi::lanes
