// The alpha-beta (latency-bandwidth) cost of collectives: ring and tree formulas for one collective of a given
// size on p ranks over a link of latency alpha (seconds per algorithm step) and inverse bandwidth beta (seconds per
// byte of bus traffic: 1 / busbw as nccl-tests reports it), and the least-squares fit of alpha and beta to timed
// all-reduces. `kachi bench scaling` fits one link inside a host and one across hosts, then predicts every
// collective of a training step from them.
#ifndef KACHI_BENCH_SCALING_ALPHA_BETA_H_
#define KACHI_BENCH_SCALING_ALPHA_BETA_H_

#include <vector>

#include "absl/status/statusor.h"
#include "comm/communicator.h"

namespace kachi {

// A link: latency per algorithm step and seconds per byte of bus traffic.
struct AlphaBeta {
  double alpha_s = 0;
  double beta_s_per_byte = 0;
  // nccl-tests bus bandwidth of the link, GB/s (1 / beta / 1e9; 0 when beta is 0).
  double busbw_gbps() const { return beta_s_per_byte > 0 ? 1e-9 / beta_s_per_byte : 0; }
};

// A link from a bus bandwidth in GB/s and a latency in microseconds.
AlphaBeta LinkFromBusBandwidth(double busbw_gbps, double alpha_us);

// Ring: p - 1 (reduce-scatter, all-gather) or 2 (p - 1) (all-reduce) steps, each moving 1/p of the data. Tree:
// ceil(log2 p) steps each way, the data pipelined through at the same bus bandwidth (NCCL's double binary tree).
enum class CollectiveAlgorithm { kRing, kTree, kBest };

// Seconds of one collective on `ranks` ranks, `bytes` as Communicator counts them (all_reduce and broadcast: the
// buffer; reduce_scatter: the whole send buffer; all_gather: one rank's part), over `link`:
//   all_reduce      ring 2(p-1) alpha + 2(p-1)/p S beta     tree 2 ceil(log2 p) alpha + 2(p-1)/p S beta
//   reduce_scatter  (p-1) alpha + (p-1)/p S beta            (S = the whole buffer; tree = ring)
//   all_gather      (p-1) alpha + (p-1)/p p s beta          (s = one rank's part)
//   broadcast       ceil(log2 p) (alpha + S beta)
//   barrier         2 ceil(log2 p) alpha;  split: 0
// kBest takes the faster of ring and tree. One rank costs nothing.
double CollectiveSeconds(CollectiveKind kind, int ranks, double bytes, const AlphaBeta& link,
                         CollectiveAlgorithm algorithm = CollectiveAlgorithm::kBest);

// One timed all-reduce: ranks, buffer bytes, seconds.
struct CollectiveSample {
  int ranks = 2;
  double bytes = 0;
  double seconds = 0;
};

// Fits alpha and beta to timed all-reduces by the ring formula (which equals the tree one at 2 ranks), minimizing
// the squared relative error so small and large messages weigh alike. When the two-parameter fit gives a negative
// alpha (or beta), that one is 0 and the other refitted. Errors when fewer than two samples of distinct size on
// more than one rank are given, or a time is not positive.
absl::StatusOr<AlphaBeta> FitAllReduceAlphaBeta(const std::vector<CollectiveSample>& samples);

}  // namespace kachi

#endif  // KACHI_BENCH_SCALING_ALPHA_BETA_H_
