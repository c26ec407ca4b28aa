// Reusable CUDA events (see cuda_event_pool.h).
#include "comm/cuda_event_pool.h"

#include "absl/strings/str_cat.h"
#include "comm/nccl_status.h"
#include "kernels/base/status_macros.h"

namespace kachi {

CudaEventPool::~CudaEventPool() {
  absl::MutexLock lock(&mu_);
  for (cudaEvent_t event : free_) cudaEventDestroy(event);  // errors ignored: the runtime may be unloading
  free_.clear();
}

absl::StatusOr<cudaEvent_t> CudaEventPool::Acquire() {
  {
    absl::MutexLock lock(&mu_);
    if (!free_.empty()) {
      cudaEvent_t event = free_.back();
      free_.pop_back();
      return event;
    }
  }
  cudaEvent_t event = nullptr;
  KACHI_RETURN_IF_ERROR(CudaStatus(cudaEventCreateWithFlags(&event, cudaEventDisableTiming),
                                   absl::StrCat("cudaEventCreateWithFlags on device ", device_)));
  return event;
}

void CudaEventPool::Release(cudaEvent_t event) {
  absl::MutexLock lock(&mu_);
  free_.push_back(event);
}

}  // namespace kachi
