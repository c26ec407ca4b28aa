// Step 1 of the lane executor (executor_steps.h): the lanes, the pool on the real hosts, the chunk runner's
// options with the test hooks resolved, and the fresh policy.
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "comm/host_placement.h"
#include "comm/mpi_communicator.h"
#include "kernels/base/status_macros.h"
#include "launcher/lanes/chunk_length.h"
#include "launcher/lanes/executor_steps.h"
#include "launcher/lanes/journal.h"
#include "launcher/lanes/lane_expansion.h"
#include "launcher/lanes/lane_messages.h"
#include "launcher/lanes/lanes_file.h"
#include "launcher/lanes/pool_topology.h"

namespace kachi::lanes {
namespace {

namespace fs = std::filesystem;

// Every lane of `definitions`: its effective config, its spec and its checkpoint directory ("<dir>/lane<index>").
absl::Status BuildLanes(const config::LanesFile& file, const std::vector<LaneDefinition>& definitions,
                        const std::string& dir, LanesRun* run) {
  for (size_t i = 0; i < definitions.size(); ++i) {
    LaneRuntime lane;
    lane.definition = definitions[i];
    KACHI_ASSIGN_OR_RETURN(lane.config, EffectiveConfig(file, lane.definition));
    KACHI_ASSIGN_OR_RETURN(lane.spec, SpecForLane(file, lane.definition));
    lane.checkpoint_dir = (fs::path(dir) / absl::StrCat("lane", i)).string();
    run->specs.push_back(lane.spec);
    run->lanes.push_back(std::move(lane));
  }
  return absl::OkStatus();
}

// The slow-lane test hook (--test_slow_lane NAME:MS) on the lane of that name; InvalidArgument when none has it.
absl::Status ResolveSlowLane(const ExecutorTestHooks& hooks, const std::vector<LaneRuntime>& lanes,
                             ChunkRunnerOptions* options) {
  if (hooks.slow_lane.empty()) return absl::OkStatus();
  for (size_t i = 0; i < lanes.size(); ++i) {
    if (lanes[i].definition.name == hooks.slow_lane) {
      options->slow_lane = static_cast<int>(i);
      options->slow_ms = hooks.slow_ms;
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(absl::StrCat("--test_slow_lane: no lane named '", hooks.slow_lane, "'"));
}

}  // namespace

absl::Status PrepareLanes(const config::LanesFile& file, Communicator& world, const ExecutorOptions& options,
                          LanesRun* run) {
  run->leader = world.rank() == kCoordinatorRank;
  run->log = run->leader ? options.log : nullptr;
  run->parent = MpiCommOf(world);
  if (run->parent == MPI_COMM_NULL) {
    return absl::InvalidArgumentError("kachi lanes: the world must be an MPI communicator");
  }
  KACHI_ASSIGN_OR_RETURN(const std::vector<LaneDefinition> definitions, ExpandLanes(file));
  // The pool's nodes from the hosts the ranks run on (pool.cards_per_node = 0; launcher/lanes/pool_topology.h).
  KACHI_ASSIGN_OR_RETURN(const std::vector<std::string> hosts, GatherHosts(world, options.host));
  KACHI_ASSIGN_OR_RETURN(run->pool, PoolOnHosts(PoolFromFile(file, world.size()), hosts));
  if (run->pool.cards > world.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("pool.cards is ", run->pool.cards, " but the job has only ", world.size(), " ranks"));
  }
  run->policy_options = PolicyOptionsFromFile(file);
  run->chunks = file.chunks();
  if (absl::Status status = ValidateChunkBudget(ChunkBudget{1, run->chunks.checkpoint_budget(), 1}); !status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("kachi lanes: chunks.checkpoint_budget: ", status.message()));
  }
  KACHI_RETURN_IF_ERROR(BuildLanes(file, definitions, options.dir, run));

  ChunkRunnerOptions& runner = run->runner_options;
  runner.parent = run->parent;
  runner.cards_per_node = run->pool.CardsPerNode();
  runner.host = options.host;
  runner.max_steps = run->policy_options.max_steps;
  runner.device = options.device;
  runner.deadline = world.options().deadline;
  KACHI_RETURN_IF_ERROR(ResolveSlowLane(options.test_hooks, run->lanes, &runner));

  KACHI_ASSIGN_OR_RETURN(run->policy, LanePolicy::Create(run->pool, run->policy_options, run->specs));
  run->journal_path = (fs::path(options.dir) / kJournalFileName).string();
  run->checkpoint_steps.assign(run->lanes.size(), 0);
  return absl::OkStatus();
}

}  // namespace kachi::lanes
