// The process-wide watchdog that turns hangs into errors: every collective is registered with a deadline; a
// background thread ends the job when one passes, printing communicator, rank, operation, sequence number, bytes,
// how long it waited and (where a backend can tell) which ranks did not arrive. Backends also register pollers
// (e.g. NCCL async-error checks) and abort hooks (e.g. ncclCommAbort) here.
#ifndef KACHI_COMM_WATCHDOG_H_
#define KACHI_COMM_WATCHDOG_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "comm/communicator.h"
#include "comm/failure_codes.h"

namespace kachi {

// Exit code of a job ended by a missed deadline (comm/failure_codes.h: 86; a failing poller ends it with 88).
inline constexpr int kWatchdogExitCode = kDeadlineExitCode;

// One in-flight collective, as the watchdog reports it.
struct CollectiveRecord {
  std::string comm_name;  // CommOptions::name
  int rank = 0;           // rank within that communicator
  int size = 0;           // size of that communicator
  std::string backend;    // "mpi" / "nccl"
  CollectiveKind kind = CollectiveKind::kAllReduce;
  uint64_t sequence = 0;  // per-communicator sequence number
  size_t bytes = 0;       // payload bytes of this rank's input
  absl::Time started;
  absl::Time deadline;
};

// Formats the message printed when `record` misses its deadline at time `now` (one line, no trailing newline).
std::string DeadlineMessage(const CollectiveRecord& record, absl::Time now);

class Watchdog {
 public:
  // The process's watchdog (its thread starts on first use and stops at exit).
  static Watchdog& Get();

  // Registers an in-flight collective; returns a token for End/EndWhen.
  uint64_t Begin(const CollectiveRecord& record);
  // Marks the collective complete.
  void End(uint64_t token);
  // Marks the collective complete once `is_complete()` returns true; the watchdog thread polls it (never from
  // inside a backend call) and drops it then.
  void EndWhen(uint64_t token, std::function<bool()> is_complete);

  // Adds a function the watchdog thread calls every tick; a non-OK status ends the job with that message.
  // Returns an id for RemovePoller.
  int AddPoller(std::function<absl::Status()> poll);
  void RemovePoller(int id);

  // Adds a function run once before the job is ended (e.g. ncclCommAbort). Returns an id for RemoveAbortHook.
  int AddAbortHook(std::function<void()> hook);
  void RemoveAbortHook(int id);

  // Sets the function that, given the late collective, returns a description of which ranks did not arrive
  // (bounded in time; empty when unknown). The MPI backend installs one.
  void SetPeerReporter(std::function<std::string(const CollectiveRecord&)> reporter);

  // Ends the job now with `exit_code` after printing `message` (and appending it to KACHI_FAILURE_REPORT) and
  // running the abort hooks: for failures found outside a collective (a peer or host lost).
  void Fail(int exit_code, const std::string& message);

  // Names this process in deadline messages, e.g. "world rank 3 (host kf2)" (set once the world is known).
  void SetIdentity(const std::string& identity);

  // Sets how the job ends (default: MPI_Abort on MPI_COMM_WORLD when MPI is initialized, else _exit).
  void SetTerminator(std::function<void(int exit_code)> terminate);

  // Number of collectives currently registered (for tests).
  size_t in_flight() const;

  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  Watchdog();
  ~Watchdog();
  struct State;
  State* state_;
};

}  // namespace kachi

#endif  // KACHI_COMM_WATCHDOG_H_
