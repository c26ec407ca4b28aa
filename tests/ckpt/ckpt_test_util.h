// Helpers for the multi-rank checkpoint tests: a tiny GPT's training options, one training phase on a carved
// (dp, tp) grid (optionally restored from and saving to checkpoint directories), and the global model and AdamW
// state gathered over the grid so runs at different layouts can be compared element by element.
#ifndef KACHI_TESTS_CKPT_CKPT_TEST_UTIL_H_
#define KACHI_TESTS_CKPT_CKPT_TEST_UTIL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "comm/communicator.h"
#include "comm/process_grid.h"
#include "runtime/train/trainer.h"

namespace kachi::testing {

// The model every checkpoint test trains (vocabulary 64, context 16).
inline const GptShape kCkptShape{2, 4, 32, 64, 64, 16};
// Steps of every run (the LR schedule spans them, so split runs see the same schedule).
inline constexpr int64_t kCkptSteps = 20;

// Global tensors (row-major, by layout tensor index) of parameters and AdamW moments.
struct GlobalState {
  std::vector<std::vector<float>> params, m, v;
};

// One training phase.
struct Phase {
  int dp = 1, tp = 1;
  bool zero1 = false;
  int64_t stop_at = kCkptSteps;  // train until this many steps are done
  std::string resume_dir;        // restore from here first (empty: fresh start)
  std::string save_dir;          // save here (async) every save_every steps (empty: no saves)
  int64_t save_every = 5;
};

// A phase from scratch to stop_at, saving into save_dir (when not empty) every save_every steps.
Phase FreshPhase(int dp, int tp, bool zero1, int64_t stop_at, const std::string& save_dir = "", int64_t save_every = 5);
// A phase resumed from resume_dir, trained to stop_at.
Phase ResumePhase(int dp, int tp, bool zero1, int64_t stop_at, const std::string& resume_dir);

// What a phase produced (empty on ranks outside its grid).
struct PhaseResult {
  bool member = false;
  absl::Status restore_status;
  int64_t restored_step = -1;
  std::vector<std::string> skipped;
  GlobalState restored;  // right after the restore
  std::vector<float> losses;
  GlobalState final_state;
  double max_stall_seconds = 0;
};

// TrainOptions of the tests (AdamW eps 1e-6: see kAdamEps in tests/train/equivalence_test.cc).
TrainOptions CkptTrainOptions(const std::string& train_pattern, bool zero1);

// Collective over `world`: runs `phase` on its first dp * tp ranks.
PhaseResult RunPhase(Communicator& world, const std::string& train_pattern, const Phase& phase);

// Collective over the grid: parameters and moments of the whole model (each element taken from the one rank that
// owns it, so the sum over ranks is exact).
GlobalState GatherGlobalState(Trainer& trainer, ProcessGrid& grid);

}  // namespace kachi::testing

#endif  // KACHI_TESTS_CKPT_CKPT_TEST_UTIL_H_
