// Flight-record marks and world ranks of communicators (see comm_record.h).
#include "comm/comm_record.h"

#include <algorithm>
#include <atomic>
#include <tuple>

namespace kachi {

void MarkCollectiveEntered(PeerProgress& progress, int64_t sequence, CollectiveKind kind) {
  static std::atomic<int64_t> order{0};  // process-wide, so the most recently used communicator can be told
  progress.stamp.store(++order);
  progress.entered_kind.store(static_cast<int>(kind));
  progress.entered.store(sequence);
}

void MarkCollectiveCompleted(PeerProgress& progress, int64_t sequence) {
  int64_t seen = progress.completed.load();
  while (seen < sequence && !progress.completed.compare_exchange_weak(seen, sequence)) {
  }
}

std::vector<int> MpiWorldRanks(MPI_Comm comm) {
  int size = 0;
  MPI_Comm_size(comm, &size);
  std::vector<int> local(size), world(size, -1);
  for (int i = 0; i < size; ++i) local[i] = i;
  MPI_Group group = MPI_GROUP_NULL, world_group = MPI_GROUP_NULL;
  MPI_Comm_group(comm, &group);
  MPI_Comm_group(MPI_COMM_WORLD, &world_group);
  MPI_Group_translate_ranks(group, size, local.data(), world_group, world.data());
  MPI_Group_free(&group);
  MPI_Group_free(&world_group);
  return world;
}

std::vector<int> SplitWorldRanks(const std::vector<int>& parent_world, const std::vector<int>& colors,
                                 const std::vector<int>& keys, int parent_rank) {
  const int size = static_cast<int>(parent_world.size());
  if (static_cast<int>(colors.size()) != size || static_cast<int>(keys.size()) != size || parent_rank < 0 ||
      parent_rank >= size || colors[parent_rank] < 0) {
    return {};
  }
  std::vector<std::tuple<int, int>> members;  // (key, parent rank)
  for (int r = 0; r < size; ++r) {
    if (colors[r] == colors[parent_rank]) members.emplace_back(keys[r], r);
  }
  std::sort(members.begin(), members.end());
  std::vector<int> world;
  for (const auto& [key, r] : members) world.push_back(parent_world[r]);
  return world;
}

}  // namespace kachi
