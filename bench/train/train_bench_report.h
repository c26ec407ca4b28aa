// The printed output of `kachi bench train`: one table row per runner (kachi, then the PyTorch modes), the
// tokens/s ratios kachi / each peer mode, and one machine-readable line per runner ("kachi_bench_train ...").
#ifndef KACHI_BENCH_TRAIN_TRAIN_BENCH_REPORT_H_
#define KACHI_BENCH_TRAIN_TRAIN_BENCH_REPORT_H_

#include <ostream>
#include <vector>

#include "bench/train/torch_peer.h"
#include "bench/train/train_bench_result.h"

namespace kachi {

// The table of `kachi` and the peer's results, the peer's failed modes, the ratios, and the machine lines.
void PrintTrainBenchTable(const TrainBenchResult& kachi, const TorchPeerReport& peer, std::ostream& out);

// The op profile of a profiled step (TrainBenchResult::op_times): one line per op with calls, total ms and share of
// the profiled step, largest first, then the time outside the ops (host work, transfers, collectives, syncs).
// Prints nothing when the result holds no profile.
void PrintOpProfile(const TrainBenchResult& kachi, std::ostream& out);

// One runner as "kachi_bench_train runner=NAME precision=... batch=... ... peak_mem_bytes=..." (spaces in the
// runner name become '_').
std::string TrainBenchMachineLine(const TrainBenchResult& result);

}  // namespace kachi

#endif  // KACHI_BENCH_TRAIN_TRAIN_BENCH_REPORT_H_
