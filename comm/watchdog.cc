// The process watchdog (see watchdog.h): one background thread that ticks every 100 ms, runs pollers and EndWhen
// completion checks, and ends the job when a registered collective passes its deadline or a poller fails.
#include "comm/watchdog.h"

#include <mpi.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"

namespace kachi {
namespace {

// How often the watchdog thread wakes up to run pollers and check deadlines.
constexpr auto kTick = std::chrono::milliseconds(100);
// Longest the peer reporter may take before the job is ended without its answer.
constexpr auto kPeerReporterLimit = std::chrono::seconds(5);

// Ends the process: MPI_Abort on MPI_COMM_WORLD while MPI is usable (so mpirun ends every rank), else _exit.
void DefaultTerminate(int exit_code) {
  std::fflush(stderr);
  std::fflush(stdout);
  int initialized = 0;
  int finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Abort(MPI_COMM_WORLD, exit_code);
  _exit(exit_code);
}

// Everything the watchdog thread and the registering threads share; guarded by `mu` unless noted.
struct WatchdogCore {
  // A registered collective; `is_complete` is set once EndWhen hands completion to the watchdog thread.
  struct Entry {
    CollectiveRecord record;
    std::function<bool()> is_complete;
    bool reported = false;  // the deadline already fired (only a returning test terminator gets here)
  };

  mutable std::mutex mu;
  std::condition_variable wake;        // signals `stopping`
  std::condition_variable poller_done; // signals a change of `running_poller`
  bool stopping = false;
  uint64_t next_token = 1;
  int next_id = 1;
  std::map<uint64_t, Entry> entries;
  std::map<int, std::function<absl::Status()>> pollers;
  std::map<int, std::function<void()>> abort_hooks;
  std::shared_ptr<std::function<std::string(const CollectiveRecord&)>> peer_reporter;
  std::function<void(int)> terminate = DefaultTerminate;
  std::string identity;  // "world rank R (host H)" once known
  int running_poller = 0;  // id of the poller the thread is calling right now (0: none)
  std::thread::id thread_id;
  std::thread thread;
};

}  // namespace

std::string DeadlineMessage(const CollectiveRecord& record, absl::Time now) {
  return absl::StrFormat(
      "kachi: DEADLINE rank %d of %d (comm %s, %s): %s #%d of %d bytes did not complete after %.1f s (deadline "
      "%.1f s)",
      record.rank, record.size, record.comm_name, record.backend, CollectiveName(record.kind), record.sequence,
      record.bytes, absl::ToDoubleSeconds(now - record.started),
      absl::ToDoubleSeconds(record.deadline - record.started));
}

// Watchdog::State is the shared core; the class only holds a pointer to it.
struct Watchdog::State : WatchdogCore {};

Watchdog& Watchdog::Get() {
  static Watchdog watchdog;
  return watchdog;
}

// Ends the job (or, with a returning test terminator, marks it ended) after printing `message`.
static void EndJob(WatchdogCore& state, const std::string& message, int exit_code) {
  std::fprintf(stderr, "%s\n", message.c_str());
  std::fflush(stderr);
  WriteFailureReport(message);
  std::vector<std::function<void()>> hooks;
  std::function<void(int)> terminate;
  {
    std::lock_guard<std::mutex> lock(state.mu);
    for (auto& [id, hook] : state.abort_hooks) hooks.push_back(hook);
    terminate = state.terminate;
  }
  for (auto& hook : hooks) hook();
  terminate(exit_code);
}

// Asks the peer reporter which ranks did not arrive, giving up after kPeerReporterLimit (it runs on its own thread
// so that a reporter stuck inside a broken transport cannot keep the job alive).
static std::string AskPeerReporter(
    const std::shared_ptr<std::function<std::string(const CollectiveRecord&)>>& reporter,
    const CollectiveRecord& record) {
  if (!reporter || !*reporter) return "";
  auto answer = std::make_shared<std::promise<std::string>>();
  std::future<std::string> future = answer->get_future();
  std::thread([reporter, record, answer] { answer->set_value((*reporter)(record)); }).detach();
  if (future.wait_for(kPeerReporterLimit) != std::future_status::ready) return "(peer query timed out)";
  return future.get();
}

// Runs one tick: pollers, EndWhen checks, then deadlines. Called on the watchdog thread only.
static void Tick(WatchdogCore& state) {
  // Pollers: copied so they run without the lock; RemovePoller waits for the one running.
  std::vector<std::pair<int, std::function<absl::Status()>>> pollers;
  {
    std::lock_guard<std::mutex> lock(state.mu);
    pollers.assign(state.pollers.begin(), state.pollers.end());
  }
  for (auto& [id, poll] : pollers) {
    {
      std::lock_guard<std::mutex> lock(state.mu);
      if (state.pollers.count(id) == 0) continue;  // removed meanwhile
      state.running_poller = id;
    }
    absl::Status status = poll();
    {
      std::lock_guard<std::mutex> lock(state.mu);
      state.running_poller = 0;
      if (!status.ok()) state.pollers.erase(id);
    }
    state.poller_done.notify_all();
    if (!status.ok()) EndJob(state, absl::StrCat("kachi: WATCHDOG ", status.ToString()), kBackendErrorExitCode);
  }

  // EndWhen entries: poll their completion checks without the lock.
  std::vector<std::pair<uint64_t, std::function<bool()>>> checks;
  {
    std::lock_guard<std::mutex> lock(state.mu);
    for (auto& [token, entry] : state.entries) {
      if (entry.is_complete) checks.emplace_back(token, entry.is_complete);
    }
  }
  for (auto& [token, is_complete] : checks) {
    if (!is_complete()) continue;
    std::lock_guard<std::mutex> lock(state.mu);
    state.entries.erase(token);
  }

  // Deadlines: the first expired entry ends the job.
  const absl::Time now = absl::Now();
  CollectiveRecord late;
  std::shared_ptr<std::function<std::string(const CollectiveRecord&)>> reporter;
  {
    std::lock_guard<std::mutex> lock(state.mu);
    auto expired = state.entries.end();
    for (auto it = state.entries.begin(); it != state.entries.end(); ++it) {
      if (!it->second.reported && it->second.record.deadline <= now) {
        expired = it;
        break;
      }
    }
    if (expired == state.entries.end()) return;
    expired->second.reported = true;
    late = expired->second.record;
    reporter = state.peer_reporter;
  }
  const std::string peers = AskPeerReporter(reporter, late);
  std::string message = DeadlineMessage(late, now);
  std::string identity;
  {
    std::lock_guard<std::mutex> lock(state.mu);
    identity = state.identity;
  }
  constexpr absl::string_view kPrefix = "kachi: DEADLINE ";
  if (!identity.empty()) message.insert(kPrefix.size(), absl::StrCat(identity, ", "));
  if (!peers.empty()) {
    // A reporter that knows world ranks starts its answer with "; " and says everything itself.
    absl::StrAppend(&message, absl::StartsWith(peers, "; ") ? "" : "; ranks not arrived: ", peers);
  }
  EndJob(state, message, kDeadlineExitCode);
}

Watchdog::Watchdog() : state_(new State) {
  state_->thread = std::thread([state = state_] {
    std::unique_lock<std::mutex> lock(state->mu);
    while (!state->stopping) {
      state->wake.wait_for(lock, kTick, [state] { return state->stopping; });
      if (state->stopping) break;
      lock.unlock();
      Tick(*state);
      lock.lock();
    }
  });
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->thread_id = state_->thread.get_id();
}

Watchdog::~Watchdog() {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->stopping = true;
  }
  state_->wake.notify_all();
  if (state_->thread.joinable()) state_->thread.join();
  delete state_;
}

uint64_t Watchdog::Begin(const CollectiveRecord& record) {
  std::lock_guard<std::mutex> lock(state_->mu);
  const uint64_t token = state_->next_token++;
  state_->entries.emplace(token, WatchdogCore::Entry{record, nullptr, false});
  return token;
}

void Watchdog::End(uint64_t token) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->entries.erase(token);
}

void Watchdog::EndWhen(uint64_t token, std::function<bool()> is_complete) {
  std::lock_guard<std::mutex> lock(state_->mu);
  auto it = state_->entries.find(token);
  if (it != state_->entries.end()) it->second.is_complete = std::move(is_complete);
}

int Watchdog::AddPoller(std::function<absl::Status()> poll) {
  std::lock_guard<std::mutex> lock(state_->mu);
  const int id = state_->next_id++;
  state_->pollers.emplace(id, std::move(poll));
  return id;
}

void Watchdog::RemovePoller(int id) {
  std::unique_lock<std::mutex> lock(state_->mu);
  state_->pollers.erase(id);
  if (std::this_thread::get_id() == state_->thread_id) return;  // a poller removing itself
  state_->poller_done.wait(lock, [this, id] { return state_->running_poller != id; });
}

int Watchdog::AddAbortHook(std::function<void()> hook) {
  std::lock_guard<std::mutex> lock(state_->mu);
  const int id = state_->next_id++;
  state_->abort_hooks.emplace(id, std::move(hook));
  return id;
}

void Watchdog::RemoveAbortHook(int id) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->abort_hooks.erase(id);
}

void Watchdog::SetPeerReporter(std::function<std::string(const CollectiveRecord&)> reporter) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->peer_reporter =
      std::make_shared<std::function<std::string(const CollectiveRecord&)>>(std::move(reporter));
}

void Watchdog::Fail(int exit_code, const std::string& message) { EndJob(*state_, message, exit_code); }

void Watchdog::SetIdentity(const std::string& identity) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->identity = identity;
}

void Watchdog::SetTerminator(std::function<void(int exit_code)> terminate) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->terminate = terminate ? std::move(terminate) : DefaultTerminate;
}

size_t Watchdog::in_flight() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->entries.size();
}

}  // namespace kachi
