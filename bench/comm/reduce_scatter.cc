// reduce_scatter benchmark: size = bytes of the input (n blocks); each rank receives one block; busbw factor
// (n-1)/n.
#include "bench/comm/collective_bench.h"
#include "bench/comm/input_pattern.h"
#include "bench/comm/raw_calls.h"

namespace kachi {
namespace {

class ReduceScatterBench final : public CollectiveBench {
 public:
  CollectiveKind kind() const override { return CollectiveKind::kReduceScatter; }
  bool reduces() const override { return true; }
  double BusFactor(int ranks) const override { return static_cast<double>(ranks - 1) / ranks; }
  const char* BusFactorFormula() const override { return "(n-1)/n"; }

  BenchShape Shape(size_t bytes, DType dtype, int ranks) const override {
    const size_t block = bytes / DTypeSize(dtype) / ranks;
    return BenchShape{block, block * ranks, block, block * ranks};
  }

  double Expected(const BenchCall& call, uint64_t seed, size_t index) const override {
    return ReducedPattern(call.dtype, call.op, seed, call.ranks, call.rank * call.count + index);
  }

  absl::Status RunKachi(Communicator& comm, const BenchCall& call) const override {
    return comm.ReduceScatter(call.send, call.recv, call.count, call.dtype, call.op);
  }

  absl::Status RunRawMpi(MPI_Comm comm, const BenchCall& call) const override {
    return RunRawMpiReduction(MPI_Reduce_scatter_block, "MPI_Reduce_scatter_block", comm, call);
  }

#ifdef KACHI_WITH_CUDA
  absl::Status RunRawNccl(const NcclHandles& nccl, const BenchCall& call) const override {
    return RunRawNcclReduction(ncclReduceScatter, "ncclReduceScatter", nccl, call);
  }
#endif
};

}  // namespace

std::unique_ptr<CollectiveBench> NewReduceScatterBench() { return std::make_unique<ReduceScatterBench>(); }

}  // namespace kachi
