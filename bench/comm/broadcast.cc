// broadcast benchmark (in place, from the root): size = bytes of the buffer; busbw factor 1.
#include "bench/comm/collective_bench.h"
#include "bench/comm/input_pattern.h"
#include "bench/comm/raw_calls.h"

#ifdef KACHI_WITH_CUDA
#include "comm/nccl_types.h"
#endif

namespace kachi {
namespace {

class BroadcastBench final : public CollectiveBench {
 public:
  CollectiveKind kind() const override { return CollectiveKind::kBroadcast; }
  bool reduces() const override { return false; }
  double BusFactor(int ranks) const override { return 1.0; }
  const char* BusFactorFormula() const override { return "1"; }
  bool input_in_recv() const override { return true; }

  BenchShape Shape(size_t bytes, DType dtype, int ranks) const override {
    const size_t count = bytes / DTypeSize(dtype);
    return BenchShape{count, 0, count, count};
  }

  double Expected(const BenchCall& call, uint64_t seed, size_t index) const override {
    return static_cast<double>(PatternValue(seed, call.root, index));
  }

  absl::Status RunKachi(Communicator& comm, const BenchCall& call) const override {
    return comm.Broadcast(call.recv, call.count, call.dtype, call.root);
  }

  absl::Status RunRawMpi(MPI_Comm comm, const BenchCall& call) const override {
    return base::MpiStatus(
        MPI_Bcast(call.recv, static_cast<int>(call.count), RawMpiCopyType(call.dtype), call.root, comm),
        "MPI_Bcast");
  }

#ifdef KACHI_WITH_CUDA
  absl::Status RunRawNccl(const NcclHandles& nccl, const BenchCall& call) const override {
    return NcclResult(ncclBroadcast(call.recv, call.recv, call.count, ToNcclDataType(call.dtype), call.root,
                                    nccl.comm, nccl.stream),
                      nccl.comm, "ncclBroadcast");
  }
#endif
};

}  // namespace

std::unique_ptr<CollectiveBench> NewBroadcastBench() { return std::make_unique<BroadcastBench>(); }

}  // namespace kachi
