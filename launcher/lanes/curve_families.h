// Seeded learning-curve families for measuring policy quality (issue 18), none of them made by kachi's own default
// family: noisy power laws, crossing curves, late bloomers, warmup-heavy lanes and divergers. Each lane's curve is
// a + b * e(step)^-c + noise, e the lane's effective progress under a linear learning-rate warmup of w steps
// (e = s^2 / 2w during warmup, s - w/2 after), NaN from its divergence step.
#ifndef KACHI_LAUNCHER_LANES_CURVE_FAMILIES_H_
#define KACHI_LAUNCHER_LANES_CURVE_FAMILIES_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "launcher/lanes/curves.h"

namespace kachi::lanes {

// One lane of a family: its curve, its warmup (steps) and two ground truths a policy's choice is scored against
// (+inf for a lane that diverges by max_steps).
struct FamilyLane {
  std::unique_ptr<LearningCurve> curve;
  int64_t warmup_steps = 0;
  // Its loss as measured at max_steps, noise included: what training every lane to the end shows.
  double true_final = 0;
  // Its noise-free (expected) loss at max_steps: what an evaluation without noise would show. The measured final
  // differs from it by one noise draw (sd 0.01), as large as the gaps between the best lanes of a family.
  double expected_final = 0;
};

// The family names: "powerlaw", "crossing", "late-bloomers", "warmup-heavy", "divergers".
std::vector<std::string> CurveFamilyNames();

// `lanes` lanes of family `name` drawn from `seed` over `max_steps`. Errors: an unknown family.
absl::StatusOr<std::vector<FamilyLane>> DrawFamily(const std::string& name, int lanes, uint64_t seed,
                                                   int64_t max_steps);

}  // namespace kachi::lanes

#endif  // KACHI_LAUNCHER_LANES_CURVE_FAMILIES_H_
