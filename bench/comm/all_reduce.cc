// all_reduce benchmark: size = bytes of the (equal) input and output buffers; busbw factor 2(n-1)/n.
#include "bench/comm/collective_bench.h"
#include "bench/comm/input_pattern.h"
#include "bench/comm/raw_calls.h"

namespace kachi {
namespace {

class AllReduceBench final : public CollectiveBench {
 public:
  CollectiveKind kind() const override { return CollectiveKind::kAllReduce; }
  bool reduces() const override { return true; }
  double BusFactor(int ranks) const override { return 2.0 * (ranks - 1) / ranks; }
  const char* BusFactorFormula() const override { return "2(n-1)/n"; }

  BenchShape Shape(size_t bytes, DType dtype, int ranks) const override {
    const size_t count = bytes / DTypeSize(dtype);
    return BenchShape{count, count, count, count};
  }

  double Expected(const BenchCall& call, uint64_t seed, size_t index) const override {
    return ReducedPattern(call.dtype, call.op, seed, call.ranks, index);
  }

  absl::Status RunKachi(Communicator& comm, const BenchCall& call) const override {
    return comm.AllReduce(call.send, call.recv, call.count, call.dtype, call.op);
  }

  absl::Status RunRawMpi(MPI_Comm comm, const BenchCall& call) const override {
    return RunRawMpiReduction(MPI_Allreduce, "MPI_Allreduce", comm, call);
  }

#ifdef KACHI_WITH_CUDA
  absl::Status RunRawNccl(const NcclHandles& nccl, const BenchCall& call) const override {
    return RunRawNcclReduction(ncclAllReduce, "ncclAllReduce", nccl, call);
  }
#endif
};

}  // namespace

std::unique_ptr<CollectiveBench> NewAllReduceBench() { return std::make_unique<AllReduceBench>(); }

}  // namespace kachi
