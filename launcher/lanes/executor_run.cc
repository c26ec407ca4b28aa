// Step 3 of the lane executor (executor_steps.h): the coordinator thread on the leader and the worker loop on
// every rank, over one control channel, and how a failure on either side ends the job.
#include <mpi.h>

#include <iostream>
#include <memory>
#include <thread>

#include "absl/time/time.h"
#include "comm/control_channel.h"
#include "kernels/base/status_macros.h"
#include "launcher/lanes/coordinator.h"
#include "launcher/lanes/executor_steps.h"
#include "launcher/lanes/worker.h"

namespace kachi::lanes {
namespace {

// The coordinator's options: chunk length (fixed or under the lanes file's checkpoint budget), heartbeats and silence limit from the collectives' deadline, test hook.
CoordinatorOptions CoordinatorOptionsFor(const ExecutorOptions& options, const LanesRun& run, absl::Duration deadline) {
  CoordinatorOptions coordinator;
  coordinator.journal_path = run.journal_path;
  coordinator.chunk_steps = options.chunk_steps > 0 ? options.chunk_steps : run.policy_options.min_steps;
  coordinator.checkpoint_budget = run.chunks.checkpoint_budget();
  coordinator.min_chunk_steps = static_cast<int64_t>(run.chunks.min_chunk_steps());
  coordinator.log = run.log;
  coordinator.heartbeat = deadline / 4;
  coordinator.silence_limit = deadline * 4;
  coordinator.exit_after_event = options.test_hooks.exit_after_event;
  return coordinator;
}

// The coordinator thread (leader only): runs the policy to the end; on an error it ends the job, since the workers
// may be inside chunks and only that frees them.
std::thread StartCoordinator(LanesRun* run, ControlChannel* channel, CoordinatorOptions options) {
  return std::thread([run, channel, options] {
    Coordinator coordinator(&*run->policy, &run->journal, &run->lanes, run->checkpoint_steps, channel, options);
    absl::Status status = coordinator.Run();
    if (!status.ok()) {
      std::cerr << "kachi lanes: coordinator: " << status.message() << "\n" << std::flush;
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
  });
}

}  // namespace

absl::Status RunCoordinatorAndMembers(Communicator& world, const ExecutorOptions& options, LanesRun* run) {
  const absl::Duration deadline = world.options().deadline;
  KACHI_ASSIGN_OR_RETURN(std::unique_ptr<ControlChannel> channel,
                         ControlChannel::Create(run->parent, "lanes", deadline));
  ChunkRunner runner(run->runner_options, &run->lanes);
  std::thread coordinator;
  if (run->leader) coordinator = StartCoordinator(run, channel.get(), CoordinatorOptionsFor(options, *run, deadline));
  absl::Status worker = RunWorker(*channel, runner, deadline);
  runner.Drop();
  if (run->leader && !worker.ok()) {
    // Rank 0's worker lost the coordinator (or could not reach it): the run cannot go on, and the coordinator
    // thread may be waiting for this card's report.
    std::cerr << "kachi lanes: rank 0 worker: " << worker.message() << "\n" << std::flush;
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  if (!run->leader && !worker.ok() && absl::IsDeadlineExceeded(worker)) EndJobWithoutCoordinator(worker, deadline);
  if (run->leader) coordinator.join();
  KACHI_RETURN_IF_ERROR(worker);
  return world.Barrier();
}

}  // namespace kachi::lanes
