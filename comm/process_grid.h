// ProcessGrid: a communicator of dp * tp ranks seen as dp data-parallel replicas of tp tensor-parallel ranks.
// Tensor-parallel ranks are contiguous in grid order: grid rank = dp_rank * tp + tp_rank. Grid order follows the
// parent's rank order unless that would put a TP group on two hosts; then ranks are ordered host by host, from the
// host each rank names (discovery's host name, gathered; comm/host_placement.h), so a TP group never leaves its host. The grid owns three communicators: world (all its ranks), dp (the ranks with this
// rank's tp_rank) and tp (the ranks with this rank's dp_rank). Carve builds a grid over a subset of ranks
// collectively over the parent; Adopt takes a world built among the members only (comm/member_grid.h).
#ifndef KACHI_COMM_PROCESS_GRID_H_
#define KACHI_COMM_PROCESS_GRID_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "comm/communicator.h"

namespace kachi {

class ProcessGrid {
 public:
  // Collective over `parent`: a dp x tp grid over all of its ranks; `host` is the host this rank runs on (the
  // discovered host name, WorldInfo::node_name; every rank passing the same string = one host). Errors (the same on
  // every rank) when dp * tp is not parent.size(), tp is not positive, or a host holds a number of ranks that is not
  // a multiple of tp (the message names the hosts and their ranks). Communicators are named "<parent>/dp",
  // "<parent>/tp" and the grid's world takes the parent's name.
  static absl::StatusOr<std::unique_ptr<ProcessGrid>> Create(Communicator& parent, int dp, int tp,
                                                             const std::string& host);

  // Collective over `parent`: the ranks passing the same color >= 0 form a grid with the given tp (dp = members /
  // tp), ordered by parent rank (then by host, as above); a rank passing a negative color takes part and gets
  // nullptr. Errors as Create, plus when the member count is not a multiple of tp. The world is named
  // "<parent>/carve<color>".
  static absl::StatusOr<std::unique_ptr<ProcessGrid>> Carve(Communicator& parent, int color, int tp,
                                                            const std::string& host);

  // Collective over the ranks of `world` (taken over): a grid over all of them with the given tp (dp = size / tp);
  // `host` is this rank's host. For a world built elsewhere, e.g. among a lane's members only
  // (comm/member_grid.h). Errors as Carve.
  static absl::StatusOr<std::unique_ptr<ProcessGrid>> Adopt(std::unique_ptr<Communicator> world, int tp,
                                                            const std::string& host);

  // All ranks of the grid, in grid order.
  Communicator& world() { return *world_; }
  // The data-parallel group of this rank (size dp_size(), rank dp_rank()).
  Communicator& dp() { return *dp_; }
  // The tensor-parallel group of this rank (size tp_size(), rank tp_rank()).
  Communicator& tp() { return *tp_; }

  // This rank's index in its data-parallel group, in [0, dp_size()).
  int dp_rank() const { return dp_rank_; }
  // This rank's index in its tensor-parallel group, in [0, tp_size()).
  int tp_rank() const { return tp_rank_; }
  // Number of data-parallel replicas.
  int dp_size() const { return dp_size_; }
  // Ranks per tensor-parallel group.
  int tp_size() const { return tp_size_; }
  // Where the TP groups sit, for logs: "kn1 [0,2] kn2 [1,3]" (each group's host and its ranks in the communicator
  // the grid was built from); empty when tp_size() is 1.
  const std::string& placement() const { return placement_; }

 private:
  ProcessGrid() = default;

  // Orders `world` (a grid's worth of ranks, owned from now on) by host where needed, then splits it into dp and tp
  // groups; `host` is this rank's host.
  static absl::StatusOr<std::unique_ptr<ProcessGrid>> Build(std::unique_ptr<Communicator> world, int tp,
                                                            const std::string& host);

  std::unique_ptr<Communicator> world_;
  std::unique_ptr<Communicator> dp_;
  std::unique_ptr<Communicator> tp_;
  int dp_rank_ = 0;
  int tp_rank_ = 0;
  int dp_size_ = 1;
  int tp_size_ = 1;
  std::string placement_;
};

}  // namespace kachi

#endif  // KACHI_COMM_PROCESS_GRID_H_
