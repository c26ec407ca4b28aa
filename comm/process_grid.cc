// ProcessGrid (see process_grid.h): argument checks, then dp/tp splits of an owned world communicator and a check,
// agreed by every rank, that each TP group stays on one node.
#include "comm/process_grid.h"

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace kachi {
namespace {

absl::Status CheckShape(int tp, int ranks_per_node) {
  if (tp <= 0) return absl::InvalidArgumentError(absl::StrCat("process grid: tp is ", tp, " (expected >= 1)"));
  if (ranks_per_node <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("process grid: ranks_per_node is ", ranks_per_node, " (expected >= 1)"));
  }
  if (ranks_per_node % tp != 0) {
    return absl::InvalidArgumentError(absl::StrCat("process grid: tp = ", tp, " does not divide ranks_per_node = ",
                                                   ranks_per_node, " (a TP group must stay inside one node)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<ProcessGrid>> ProcessGrid::Create(Communicator& parent, int dp, int tp,
                                                                 int ranks_per_node) {
  if (auto s = CheckShape(tp, ranks_per_node); !s.ok()) return s;
  if (dp <= 0 || static_cast<int64_t>(dp) * tp != parent.size()) {
    return absl::InvalidArgumentError(absl::StrCat("process grid: dp x tp = ", dp, " x ", tp, " does not match the ",
                                                   parent.size(), " ranks of communicator '",
                                                   parent.options().name, "'"));
  }
  auto world = parent.Split(0, parent.rank(), parent.options().name);
  if (!world.ok()) return world.status();
  return Build(*std::move(world), tp, parent.rank() / ranks_per_node);
}

absl::StatusOr<std::unique_ptr<ProcessGrid>> ProcessGrid::Carve(Communicator& parent, int color, int tp,
                                                                int ranks_per_node) {
  // Every rank takes part in the split, even with bad arguments, so that no rank is left waiting.
  const absl::Status shape = CheckShape(tp, ranks_per_node);
  auto world = parent.Split(color, parent.rank(), absl::StrCat(parent.options().name, "/carve", color));
  if (!world.ok()) return world.status();
  if (*world == nullptr) return std::unique_ptr<ProcessGrid>();
  if (!shape.ok()) return shape;
  const int members = (*world)->size();
  if (members % tp != 0) {
    return absl::InvalidArgumentError(absl::StrCat("process grid: carve color ", color, " has ", members,
                                                   " ranks, not a multiple of tp = ", tp));
  }
  return Build(*std::move(world), tp, parent.rank() / ranks_per_node);
}

absl::StatusOr<std::unique_ptr<ProcessGrid>> ProcessGrid::Adopt(std::unique_ptr<Communicator> world, int tp,
                                                                int ranks_per_node, int node) {
  if (auto s = CheckShape(tp, ranks_per_node); !s.ok()) return s;
  if (world == nullptr || world->size() % tp != 0) {
    return absl::InvalidArgumentError(absl::StrCat("process grid: ", world == nullptr ? 0 : world->size(),
                                                   " ranks, not a multiple of tp = ", tp));
  }
  return Build(std::move(world), tp, node);
}

absl::StatusOr<std::unique_ptr<ProcessGrid>> ProcessGrid::Build(std::unique_ptr<Communicator> world, int tp,
                                                                int node) {
  std::unique_ptr<ProcessGrid> grid(new ProcessGrid);
  grid->tp_size_ = tp;
  grid->dp_size_ = world->size() / tp;
  grid->dp_rank_ = world->rank() / tp;
  grid->tp_rank_ = world->rank() % tp;
  const std::string& name = world->options().name;
  auto dp = world->Split(grid->tp_rank_, grid->dp_rank_, absl::StrCat(name, "/dp"));
  if (!dp.ok()) return dp.status();
  auto tp_group = world->Split(grid->dp_rank_, grid->tp_rank_, absl::StrCat(name, "/tp"));
  if (!tp_group.ok()) return tp_group.status();
  grid->dp_ = *std::move(dp);
  grid->tp_ = *std::move(tp_group);
  grid->world_ = std::move(world);

  // Every TP group must sit on one node; all ranks learn whether any group does not.
  std::vector<int32_t> nodes(tp);
  const int32_t my_node = node;
  if (auto s = grid->tp_->AllGather(&my_node, nodes.data(), 1, DType::kInt32); !s.ok()) return s;
  int32_t spans = 0;
  for (int32_t other : nodes) spans |= other != my_node ? 1 : 0;
  int32_t any_spans = 0;
  if (auto s = grid->world_->AllReduce(&spans, &any_spans, 1, DType::kInt32, ReduceOp::kMax); !s.ok()) return s;
  if (any_spans != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "process grid '", name, "': a TP group of ", tp, " ranks spans several nodes", spans ? " (this rank's: nodes " : "",
        spans ? absl::StrJoin(nodes, ", ") : "", spans ? ")" : "", "; expected each TP group on one node"));
  }
  return grid;
}

}  // namespace kachi
