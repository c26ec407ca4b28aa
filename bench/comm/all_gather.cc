// all_gather benchmark: size = bytes of the output (n blocks); each rank contributes one block; busbw factor
// (n-1)/n.
#include "bench/comm/collective_bench.h"
#include "bench/comm/input_pattern.h"
#include "bench/comm/raw_calls.h"

#ifdef KACHI_WITH_CUDA
#include "comm/nccl_types.h"
#endif

namespace kachi {
namespace {

class AllGatherBench final : public CollectiveBench {
 public:
  CollectiveKind kind() const override { return CollectiveKind::kAllGather; }
  bool reduces() const override { return false; }
  double BusFactor(int ranks) const override { return static_cast<double>(ranks - 1) / ranks; }
  const char* BusFactorFormula() const override { return "(n-1)/n"; }

  BenchShape Shape(size_t bytes, DType dtype, int ranks) const override {
    const size_t block = bytes / DTypeSize(dtype) / ranks;
    return BenchShape{block, block, block * ranks, block * ranks};
  }

  double Expected(const BenchCall& call, uint64_t seed, size_t index) const override {
    return static_cast<double>(PatternValue(seed, static_cast<int>(index / call.count), index % call.count));
  }

  absl::Status RunKachi(Communicator& comm, const BenchCall& call) const override {
    return comm.AllGather(call.send, call.recv, call.count, call.dtype);
  }

  absl::Status RunRawMpi(MPI_Comm comm, const BenchCall& call) const override {
    const MPI_Datatype type = RawMpiCopyType(call.dtype);
    const int count = static_cast<int>(call.count);
    return base::MpiStatus(MPI_Allgather(call.send, count, type, call.recv, count, type, comm), "MPI_Allgather");
  }

#ifdef KACHI_WITH_CUDA
  absl::Status RunRawNccl(const NcclHandles& nccl, const BenchCall& call) const override {
    return NcclResult(
        ncclAllGather(call.send, call.recv, call.count, ToNcclDataType(call.dtype), nccl.comm, nccl.stream),
        nccl.comm, "ncclAllGather");
  }
#endif
};

}  // namespace

std::unique_ptr<CollectiveBench> NewAllGatherBench() { return std::make_unique<AllGatherBench>(); }

}  // namespace kachi
