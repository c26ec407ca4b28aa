// A thread-safe pool of reusable CUDA events (timing disabled), so that marking the completion of every collective
// costs no cudaEventCreate on the fast path. Shared (std::shared_ptr) between a communicator and the watchdog
// completion checks that may outlive it (CUDA builds only).
#ifndef KACHI_COMM_CUDA_EVENT_POOL_H_
#define KACHI_COMM_CUDA_EVENT_POOL_H_

#include <cuda_runtime.h>

#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace kachi {

class CudaEventPool {
 public:
  // Events are created on CUDA device `device`.
  explicit CudaEventPool(int device) : device_(device) {}
  // Destroys every pooled event (events still handed out are the holders' to release or leak).
  ~CudaEventPool();

  // A pooled event, or a new one when the pool is empty. The caller's current device must be the pool's.
  absl::StatusOr<cudaEvent_t> Acquire();
  // Returns `event` (from Acquire) to the pool; callable from any thread.
  void Release(cudaEvent_t event);

  CudaEventPool(const CudaEventPool&) = delete;
  CudaEventPool& operator=(const CudaEventPool&) = delete;

 private:
  const int device_;
  absl::Mutex mu_;
  std::vector<cudaEvent_t> free_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kachi

#endif  // KACHI_COMM_CUDA_EVENT_POOL_H_
