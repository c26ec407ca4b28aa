// kachi_lanes_curves FAMILY SEED [LANES [MAX_STEPS [EVERY]]]: writes the curves of one seeded family
// (launcher/lanes/curve_families.h) as the simulator's CSV ("lane,step,loss", "nan" from a lane's divergence), sampled
// every EVERY steps from EVERY to MAX_STEPS (defaults 64 lanes, 8100 steps, every 100), the lanes named as the
// policy-quality table names them. For checking the lane policies against an outside implementation on exactly the
// curves of the table (bench/lanes/syne_tune_asha.py runs Syne Tune's ASHA on them).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "launcher/lanes/curve_families.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: kachi_lanes_curves FAMILY SEED [LANES [MAX_STEPS [EVERY]]]\n");
    return 2;
  }
  const std::string family = argv[1];
  const long long seed = std::atoll(argv[2]);
  const int lanes = argc > 3 ? std::atoi(argv[3]) : 64;
  const long long max_steps = argc > 4 ? std::atoll(argv[4]) : 8100;
  const long long every = argc > 5 ? std::atoll(argv[5]) : 100;
  if (seed < 1 || lanes < 1 || max_steps < 1 || every < 1 || max_steps % every != 0) {
    std::fprintf(stderr, "kachi_lanes_curves: SEED, LANES, MAX_STEPS, EVERY must be >= 1, MAX_STEPS a multiple of "
                         "EVERY\n");
    return 2;
  }
  absl::StatusOr<std::vector<kachi::lanes::FamilyLane>> drawn =
      kachi::lanes::DrawFamily(family, lanes, static_cast<uint64_t>(seed), max_steps);
  if (!drawn.ok()) {
    std::fprintf(stderr, "kachi_lanes_curves: %s\n", std::string(drawn.status().message()).c_str());
    return 1;
  }
  std::printf("lane,step,loss\n");
  for (size_t i = 0; i < drawn->size(); ++i) {
    for (long long step = every; step <= max_steps; step += every) {
      const double loss = (*drawn)[i].curve->LossAt(step);
      if (std::isfinite(loss)) {
        std::printf("%s%zu,%lld,%.9g\n", family.c_str(), i, step, loss);
      } else {
        std::printf("%s%zu,%lld,nan\n", family.c_str(), i, step);
        break;  // the simulator's CSV ignores points after a divergence
      }
    }
  }
  return 0;
}
