// One collective as the benchmark sees it (nccl-tests style): how a size maps onto counts, the bus-bandwidth
// factor, the kachi call, the raw peer calls (bare MPI, bare NCCL) and the expected result. One file per
// collective implements it (all_reduce.cc, reduce_scatter.cc, all_gather.cc, broadcast.cc).
#ifndef KACHI_BENCH_COMM_COLLECTIVE_BENCH_H_
#define KACHI_BENCH_COMM_COLLECTIVE_BENCH_H_

#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "comm/communicator.h"
#include "comm/dtype.h"

#ifdef KACHI_WITH_CUDA
#include "comm/nccl_raw.h"
#endif

namespace kachi {

// Element counts of one row.
struct BenchShape {
  size_t call_count = 0;  // the count argument of the call (0: the size is too small for this many ranks)
  size_t send_count = 0;  // elements the call reads from `send` (0 for broadcast, which works in `recv`)
  size_t recv_count = 0;  // elements the call writes to `recv`
  size_t size_count = 0;  // elements of the size column (the largest buffer of the call)
};

// Arguments of one call.
struct BenchCall {
  const void* send = nullptr;
  void* recv = nullptr;
  size_t count = 0;  // BenchShape::call_count
  DType dtype = DType::kFloat32;
  ReduceOp op = ReduceOp::kSum;
  int root = 0;   // broadcast root
  int rank = 0;   // this rank in the communicator
  int ranks = 1;  // communicator size
};

class CollectiveBench {
 public:
  virtual ~CollectiveBench() = default;

  // Which collective this is.
  virtual CollectiveKind kind() const = 0;
  // True when the collective reduces (the op column applies).
  virtual bool reduces() const = 0;
  // busbw = algbw * BusFactor(ranks) (nccl-tests' definitions).
  virtual double BusFactor(int ranks) const = 0;
  // The factor as a formula for the table header, e.g. "2(n-1)/n".
  virtual const char* BusFactorFormula() const = 0;
  // Counts for a row of `bytes` (rounded down to whole elements per rank).
  virtual BenchShape Shape(size_t bytes, DType dtype, int ranks) const = 0;
  // True when the input lives in `recv` (broadcast) rather than `send`.
  virtual bool input_in_recv() const { return false; }
  // Expected value of recv element `index` after the call, when every rank r's input element i was
  // PatternValue(seed, r, i).
  virtual double Expected(const BenchCall& call, uint64_t seed, size_t index) const = 0;

  // The call through kachi's Communicator.
  virtual absl::Status RunKachi(Communicator& comm, const BenchCall& call) const = 0;
  // The bare MPI call on `comm`; Unimplemented when MPI has no equivalent (bf16/fp16 reductions, avg).
  virtual absl::Status RunRawMpi(MPI_Comm comm, const BenchCall& call) const = 0;
#ifdef KACHI_WITH_CUDA
  // The bare NCCL call on the communicator's own NCCL communicator and stream.
  virtual absl::Status RunRawNccl(const NcclHandles& nccl, const BenchCall& call) const = 0;
#endif
};

// One factory per collective file.
std::unique_ptr<CollectiveBench> NewAllReduceBench();
std::unique_ptr<CollectiveBench> NewReduceScatterBench();
std::unique_ptr<CollectiveBench> NewAllGatherBench();
std::unique_ptr<CollectiveBench> NewBroadcastBench();

// The benchmark of `kind`; nullptr for kinds that are not benchmarked (barrier, split).
std::unique_ptr<CollectiveBench> NewCollectiveBench(CollectiveKind kind);

}  // namespace kachi

#endif  // KACHI_BENCH_COMM_COLLECTIVE_BENCH_H_
