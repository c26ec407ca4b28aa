// Picks the benchmark of a collective (see collective_bench.h).
#include "bench/comm/collective_bench.h"

namespace kachi {

std::unique_ptr<CollectiveBench> NewCollectiveBench(CollectiveKind kind) {
  switch (kind) {
    case CollectiveKind::kAllReduce: return NewAllReduceBench();
    case CollectiveKind::kReduceScatter: return NewReduceScatterBench();
    case CollectiveKind::kAllGather: return NewAllGatherBench();
    case CollectiveKind::kBroadcast: return NewBroadcastBench();
    default: return nullptr;
  }
}

}  // namespace kachi
