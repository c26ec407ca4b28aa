// Device memory a benchmark run holds: cudaMemGetInfo's used bytes sampled at chosen points, minus the bytes in use
// when the probe was made (after the CUDA context exists), so the context itself is not counted but cuBLAS
// workspaces and every cudaMalloc of the run are. Samples see memory held between calls, not a transient
// allocation freed inside one.
#ifndef KACHI_BENCH_TRAIN_DEVICE_MEMORY_H_
#define KACHI_BENCH_TRAIN_DEVICE_MEMORY_H_

#include <cstdint>

#include "absl/status/statusor.h"

namespace kachi {

class DeviceMemoryProbe {
 public:
  // Makes `device` current, creates its context and records the bytes in use as the baseline. Unavailable in a
  // CPU-only build; the CUDA error otherwise.
  static absl::StatusOr<DeviceMemoryProbe> Start(int device);

  // Reads the bytes in use now and keeps the largest sample.
  absl::Status Sample();
  // Largest sample minus the baseline (0 before any sample), in bytes.
  int64_t peak_bytes() const { return peak_used_ > baseline_used_ ? peak_used_ - baseline_used_ : 0; }

 private:
  DeviceMemoryProbe() = default;

  int64_t baseline_used_ = 0;
  int64_t peak_used_ = 0;
};

}  // namespace kachi

#endif  // KACHI_BENCH_TRAIN_DEVICE_MEMORY_H_
