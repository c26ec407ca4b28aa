// CollectiveObserver: told of every collective that the thread which installed it issues through a Communicator
// (comm/communicator.cc calls it after each call returns). Step timelines (runtime/train/timeline.h) use it to
// time the communication a training thread is blocked in, with each call's bytes, for `kachi train --timeline` and
// `kachi bench scaling`. Per thread, so a gradient-sync worker's collectives are not counted as the training
// thread's wait.
#ifndef KACHI_COMM_COLLECTIVE_OBSERVER_H_
#define KACHI_COMM_COLLECTIVE_OBSERVER_H_

#include <cstddef>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "comm/communicator.h"

namespace kachi {

class CollectiveObserver {
 public:
  virtual ~CollectiveObserver() = default;
  // `kind` on communicator `comm_name` (`group_size` ranks) with `bytes` of this rank's payload (as the
  // watchdog counts them) ran on this thread from `begin` to `end` (asynchronous backends: the time to enqueue it).
  virtual void OnCollective(CollectiveKind kind, absl::string_view comm_name, int group_size, size_t bytes,
                            absl::Time begin, absl::Time end) = 0;
};

// Installs `observer` for the calling thread only (null removes it); returns the one it replaces.
CollectiveObserver* SetThreadCollectiveObserver(CollectiveObserver* observer);

}  // namespace kachi

#endif  // KACHI_COMM_COLLECTIVE_OBSERVER_H_
