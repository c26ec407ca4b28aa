// Resuming a Trainer from a checkpoint directory, collectively over its grid and at any (dp, tp, ZeRO-1): the
// candidates are tried in LoadCandidates order (`latest` first, then older); a candidate whose manifest is missing
// or unreadable, or whose shard sizes or checksums do not match (the ranks split the checksum reading), is reported
// by path and skipped. The first sound one sets parameters, AdamW moments and step count, and the loader position.
#ifndef KACHI_RUNTIME_CKPT_RESTORE_H_
#define KACHI_RUNTIME_CKPT_RESTORE_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "comm/process_grid.h"
#include "runtime/ckpt/checkpoint_reader.h"
#include "runtime/train/trainer.h"

namespace kachi::ckpt {

// What a restore did (the same on every rank, except that `skipped` carries the reason only where it was seen).
struct RestoreReport {
  std::string path;  // the step directory loaded
  int64_t step = 0;  // optimizer steps it had completed
  std::vector<std::string> skipped;  // "<step dir>: <problem>" for each damaged or incomplete candidate passed over
};

// Loads `reader`'s checkpoint into `trainer` on this rank (no communication): its layout's parameters, its
// optimizer range's moments and step count, and the loader position. FailedPrecondition when the model shape or
// global batch differ.
absl::Status LoadIntoTrainer(const CheckpointReader& reader, Trainer& trainer);

// Collective over grid.world(): restores the newest sound checkpoint of `dir` into `trainer`. Skipped candidates
// are printed to `log` (rank 0) or stderr (other ranks that found the problem). NotFound on every rank when `dir`
// holds no step directory; DataLoss when every candidate is damaged; a load error (e.g. another model) on every
// rank.
absl::StatusOr<RestoreReport> RestoreTrainer(const std::string& dir, Trainer& trainer, ProcessGrid& grid,
                                             std::ostream* log);

}  // namespace kachi::ckpt

#endif  // KACHI_RUNTIME_CKPT_RESTORE_H_
