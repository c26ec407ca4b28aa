// Helpers for the cuda_matmul GPU tests: device buffers filled from host vectors (float or bf16 elements), NaN
// poisoning of outputs, bf16 rounding on the host; the error against a double reference is tests/lib/relative_errors.h.
#ifndef KACHI_TESTS_CUDA_MATMUL_CUDA_TEST_BUFFERS_H_
#define KACHI_TESTS_CUDA_MATMUL_CUDA_TEST_BUFFERS_H_

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <type_traits>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/base/device_buffer.h"
#include "tests/lib/relative_errors.h"  // ExpectClose

namespace kachi::testing {

// Asserts inside a void helper/test that a CUDA call succeeded.
#define KACHI_ASSERT_CUDA(call)                                                              \
  do {                                                                                       \
    const cudaError_t kachi_cuda_error_ = (call);                                            \
    ASSERT_EQ(kachi_cuda_error_, cudaSuccess) << #call << ": " << cudaGetErrorString(kachi_cuda_error_); \
  } while (0)

// Host value of element type T as double, and a double rounded to T.
inline double ToDouble(float x) { return x; }
inline double ToDouble(__nv_bfloat16 x) { return static_cast<double>(__bfloat162float(x)); }
template <typename T>
T FromDouble(double x) {
  if constexpr (std::is_same_v<T, float>) {
    return static_cast<float>(x);
  } else {
    return __float2bfloat16_rn(static_cast<float>(x));
  }
}

// `values` rounded to T and back: the exact inputs the GPU sees, for the double reference.
template <typename T>
std::vector<double> RoundedTo(const std::vector<double>& values) {
  std::vector<double> rounded(values.size());
  for (size_t i = 0; i < values.size(); ++i) rounded[i] = ToDouble(FromDouble<T>(values[i]));
  return rounded;
}

// A device array of T that frees itself; filled from doubles (rounded to T) or poisoned with NaN.
template <typename T>
class DeviceArray {
 public:
  // get() is null when the allocation fails.
  explicit DeviceArray(size_t size) : size_(size) {
    buffer_.Reallocate(std::max<size_t>(size, 1) * sizeof(T)).IgnoreError();
  }

  T* get() const { return buffer_.as<T>(); }
  size_t size() const { return size_; }

  // Copies `values` (rounded to T) to the device.
  cudaError_t Upload(const std::vector<double>& values) {
    std::vector<T> host(values.size());
    for (size_t i = 0; i < values.size(); ++i) host[i] = FromDouble<T>(values[i]);
    return cudaMemcpy(get(), host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice);
  }
  // Copies raw T values to the device.
  cudaError_t UploadRaw(const std::vector<T>& host) {
    return cudaMemcpy(get(), host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice);
  }
  // Fills every byte with 0xFF: NaN for float and bf16, -1 for int32.
  cudaError_t Poison() { return cudaMemset(get(), 0xFF, size_ * sizeof(T)); }
  // The device contents as doubles (after a device synchronization).
  std::vector<double> Download() const {
    std::vector<T> host(size_);
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    EXPECT_EQ(cudaMemcpy(host.data(), get(), size_ * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
    std::vector<double> out(size_);
    for (size_t i = 0; i < size_; ++i) out[i] = ToDouble(host[i]);
    return out;
  }

 private:
  base::DeviceBuffer buffer_;
  size_t size_;
};

}  // namespace kachi::testing

#endif  // KACHI_TESTS_CUDA_MATMUL_CUDA_TEST_BUFFERS_H_
