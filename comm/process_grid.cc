// ProcessGrid (see process_grid.h): argument checks, an order of the ranks that keeps every TP group on one host
// (comm/host_placement.h, from the hosts all ranks name), then dp/tp splits of an owned world communicator.
#include "comm/process_grid.h"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "comm/host_placement.h"
#include "kernels/base/status_macros.h"

namespace kachi {
namespace {

absl::Status CheckTp(int tp) {
  if (tp <= 0) return absl::InvalidArgumentError(absl::StrCat("process grid: tp is ", tp, " (expected >= 1)"));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<ProcessGrid>> ProcessGrid::Create(Communicator& parent, int dp, int tp,
                                                                 const std::string& host) {
  KACHI_RETURN_IF_ERROR(CheckTp(tp));
  if (dp <= 0 || static_cast<int64_t>(dp) * tp != parent.size()) {
    return absl::InvalidArgumentError(absl::StrCat("process grid: dp x tp = ", dp, " x ", tp, " does not match the ",
                                                   parent.size(), " ranks of communicator '",
                                                   parent.options().name, "'"));
  }
  KACHI_ASSIGN_OR_RETURN(std::unique_ptr<Communicator> world, parent.Split(0, parent.rank(), parent.options().name));
  return Build(std::move(world), tp, host);
}

absl::StatusOr<std::unique_ptr<ProcessGrid>> ProcessGrid::Carve(Communicator& parent, int color, int tp,
                                                                const std::string& host) {
  // Every rank takes part in the split, even with bad arguments, so that no rank is left waiting.
  const absl::Status shape = CheckTp(tp);
  KACHI_ASSIGN_OR_RETURN(std::unique_ptr<Communicator> world,
                         parent.Split(color, parent.rank(), absl::StrCat(parent.options().name, "/carve", color)));
  if (world == nullptr) return std::unique_ptr<ProcessGrid>();
  KACHI_RETURN_IF_ERROR(shape);
  const int members = world->size();
  if (members % tp != 0) {
    return absl::InvalidArgumentError(absl::StrCat("process grid: carve color ", color, " has ", members,
                                                   " ranks, not a multiple of tp = ", tp));
  }
  return Build(std::move(world), tp, host);
}

absl::StatusOr<std::unique_ptr<ProcessGrid>> ProcessGrid::Adopt(std::unique_ptr<Communicator> world, int tp,
                                                                const std::string& host) {
  KACHI_RETURN_IF_ERROR(CheckTp(tp));
  if (world == nullptr || world->size() % tp != 0) {
    return absl::InvalidArgumentError(absl::StrCat("process grid: ", world == nullptr ? 0 : world->size(),
                                                   " ranks, not a multiple of tp = ", tp));
  }
  return Build(std::move(world), tp, host);
}

absl::StatusOr<std::unique_ptr<ProcessGrid>> ProcessGrid::Build(std::unique_ptr<Communicator> world, int tp,
                                                                const std::string& host) {
  const std::string name = world->options().name;
  std::string placement;
  // tp = 1 fits any placement: no exchange (and no extra collective) needed.
  if (tp > 1) {
    // Every rank sees the same hosts, so every rank reaches the same order or the same error.
    KACHI_ASSIGN_OR_RETURN(std::vector<std::string> hosts, GatherHosts(*world, host));
    absl::StatusOr<std::vector<int>> order = PlaceByHost(hosts, tp);
    if (!order.ok()) {
      return absl::FailedPreconditionError(absl::StrCat("process grid '", name, "': ", order.status().message()));
    }
    const int position = static_cast<int>(std::find(order->begin(), order->end(), world->rank()) - order->begin());
    if (!std::is_sorted(order->begin(), order->end())) {  // the same decision on every rank
      KACHI_ASSIGN_OR_RETURN(world, world->Split(0, position, name));
    }
    for (size_t g = 0; g < order->size(); g += tp) {
      std::vector<int> group(order->begin() + g, order->begin() + g + tp);
      absl::StrAppend(&placement, placement.empty() ? "" : " ", hosts[group[0]], " [", absl::StrJoin(group, ","), "]");
    }
  }
  std::unique_ptr<ProcessGrid> grid(new ProcessGrid);
  grid->placement_ = std::move(placement);
  grid->tp_size_ = tp;
  grid->dp_size_ = world->size() / tp;
  grid->dp_rank_ = world->rank() / tp;
  grid->tp_rank_ = world->rank() % tp;
  KACHI_ASSIGN_OR_RETURN(std::unique_ptr<Communicator> dp,
                         world->Split(grid->tp_rank_, grid->dp_rank_, absl::StrCat(name, "/dp")));
  KACHI_ASSIGN_OR_RETURN(std::unique_ptr<Communicator> tp_group,
                         world->Split(grid->dp_rank_, grid->tp_rank_, absl::StrCat(name, "/tp")));
  grid->dp_ = std::move(dp);
  grid->tp_ = std::move(tp_group);
  grid->world_ = std::move(world);
  return grid;
}

}  // namespace kachi
