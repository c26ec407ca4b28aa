// Exit codes and the failure report of a job that kachi ends itself (documented in README "Failures"):
//   86  a collective missed its deadline (comm.deadline_s), or a lanes worker lost its coordinator
//   87  a peer rank died or a whole host was lost (every rank of it dead or unreachable)
//   88  a backend reported an asynchronous error (e.g. NCCL)
// Each such end prints one "kachi: ..." line on stderr; with KACHI_FAILURE_REPORT=PATH it is also appended to PATH
// (so wrappers such as scripts/kachi-elastic.sh can read which host was lost).
#ifndef KACHI_COMM_FAILURE_CODES_H_
#define KACHI_COMM_FAILURE_CODES_H_

#include <string>

namespace kachi {

// A collective missed its deadline, or a lanes worker heard nothing from its coordinator within the deadline.
inline constexpr int kDeadlineExitCode = 86;
// A peer rank died (its side-channel socket closed without a goodbye) or a host was lost.
inline constexpr int kPeerLostExitCode = 87;
// A communication backend reported an asynchronous error (watchdog poller).
inline constexpr int kBackendErrorExitCode = 88;

// Appends `message` and a newline to the file named by KACHI_FAILURE_REPORT, if set (best effort, one write).
void WriteFailureReport(const std::string& message);

}  // namespace kachi

#endif  // KACHI_COMM_FAILURE_CODES_H_
