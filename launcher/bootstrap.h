// Start-up shared by every subcommand that runs collectives: configuration, MPI, rank discovery checked against
// MPI, device binding, and the world communicator of the chosen backend with the configured deadline.
//
//   auto session = kachi::BootstrapFromFlags();       // or Bootstrap(config)
//   if (!session.ok()) { ...print session.status(), return 1... }
//   Communicator& world = *(*session)->world;         // MPI or NCCL, deadline comm.deadline_s
//   ...                                               // ~Session() frees the communicator and finalizes MPI
#ifndef KACHI_LAUNCHER_BOOTSTRAP_H_
#define KACHI_LAUNCHER_BOOTSTRAP_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "comm/communicator.h"
#include "launcher/discovery.h"
#include "runtime/proto/config.pb.h"

namespace kachi {

// What a command gets from start-up. Destroying it frees the communicator, then finalizes MPI (when bootstrap
// initialized it).
struct Session {
  config::KachiConfig config;              // the validated run configuration
  WorldInfo world;                         // this rank's place, checked against MPI (no unknown fields)
  int device = -1;                         // bound CUDA device, -1 on CPU
  std::string backend;                     // "mpi" or "nccl": the world communicator's backend
  std::unique_ptr<Communicator> world_comm;  // every rank of the job, deadline comm.deadline_s, name "world"

  Session() = default;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session();
};

// Options for tests: the environment and device count bootstrap would otherwise read from the process.
struct BootstrapInputs {
  EnvMap env;            // launcher variables (ProcessEnvironment() in production)
  std::string host_name; // HostName() in production
  int device_count = 0;  // VisibleDeviceCount() in production
};

// The production inputs: this process's environment, host name and visible CUDA devices.
BootstrapInputs ProcessInputs();

// Starts MPI and builds the session for `config`. Errors from discovery happen before MPI starts; later errors
// (disagreement with MPI, device binding, backend choice) are agreed on by all ranks so every rank returns an
// error instead of leaving peers waiting; ranks that were fine report which rank failed.
absl::StatusOr<std::unique_ptr<Session>> Bootstrap(const config::KachiConfig& config,
                                                   const BootstrapInputs& inputs = ProcessInputs());

// Bootstrap with the configuration named by the common flags (launcher/flags.h: --config, --set, --backend). A
// configuration error (the same on every rank, met before MPI starts) carries the payload kConfigErrorPayload.
absl::StatusOr<std::unique_ptr<Session>> BootstrapFromFlags();

// Payload type URL marking a configuration error of BootstrapFromFlags.
inline constexpr char kConfigErrorPayload[] = "kachi.config_error";

// `status` marked as a configuration error (kConfigErrorPayload): one every rank meets alike.
absl::Status MarkConfigError(absl::Status status);

// How long a rank other than 0 holds a configuration error before printing it itself (the job normally ends first:
// the launcher aborts it when rank 0 exits with the error printed).
inline constexpr absl::Duration kSilentRankGrace = absl::Seconds(20);

// Prints `command`'s start-up error to stderr once per job: a configuration error on the job's rank 0 at once (as
// the launcher's environment tells; every process prints when that cannot be told), on another rank only if the job
// is still alive kSilentRankGrace later; any other error on each rank.
void PrintBootstrapError(const char* command, const absl::Status& status);

}  // namespace kachi

#endif  // KACHI_LAUNCHER_BOOTSTRAP_H_
