// Helpers for the cuda_memory kernel tests: device buffers that upload/download through float (rounding to the
// storage type), NaN poisoning (bytes 0xFF are NaN in fp32 and bf16), values rounded through a storage type so
// the CPU reference sees exactly the GPU's inputs, and the error measures with the tolerances per precision.
#ifndef KACHI_TESTS_CUDA_MEMORY_CUDA_MEMORY_TEST_UTIL_H_
#define KACHI_TESTS_CUDA_MEMORY_CUDA_MEMORY_TEST_UTIL_H_

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/base/device_buffer.h"
#include "tests/kernels/kernel_test_util.h"
#include "tests/lib/relative_errors.h"  // ExpectClose
#include "tests/test_util.h"

namespace kachi::testing {

// Norm-relative tolerance (||out - ref|| / ||ref||, and max |out - ref| / max |ref|) per storage type.
template <typename T>
inline constexpr double kTolerance = 1e-5;
template <>
inline constexpr double kTolerance<__nv_bfloat16> = 1e-2;

// float -> T (round to nearest even for bf16) and back, on the host.
template <typename T>
T ToStorage(float value) {
  if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    return __float2bfloat16_rn(value);
  } else {
    return static_cast<T>(value);
  }
}
inline double FromStorage(double value) { return value; }
inline double FromStorage(float value) { return value; }
inline double FromStorage(int32_t value) { return value; }
inline double FromStorage(__nv_bfloat16 value) { return __bfloat162float(value); }

// `values` rounded through T, widened to double: what the GPU reads after an upload.
template <typename T, typename V>
std::vector<double> RoundedThrough(const std::vector<V>& values) {
  std::vector<double> out(values.size());
  for (size_t i = 0; i < values.size(); ++i) out[i] = FromStorage(ToStorage<T>(static_cast<float>(values[i])));
  return out;
}

// Device array of `size` elements of T, with `offset` extra leading elements so tests can hand kernels a pointer
// that is not 16-byte aligned (data() = base + offset).
template <typename T>
class DeviceArray {
 public:
  explicit DeviceArray(size_t size, size_t offset = 0) : size_(size), offset_(offset) {
    EXPECT_TRUE(buffer_.Reallocate((size + offset + 1) * sizeof(T)).ok());
  }

  T* data() const { return buffer_.as<T>() + offset_; }
  size_t size() const { return size_; }

  // Copies `values` (converted to T) to the device; values.size() must equal size().
  template <typename V>
  void Upload(const std::vector<V>& values) {
    ASSERT_EQ(values.size(), size_);
    std::vector<T> host(size_);
    for (size_t i = 0; i < size_; ++i) host[i] = ToStorage<T>(static_cast<float>(values[i]));
    ASSERT_EQ(cudaMemcpy(data(), host.data(), size_ * sizeof(T), cudaMemcpyHostToDevice), cudaSuccess);
  }
  // Fills every byte with 0xFF (NaN for fp32 and bf16), so unwritten outputs show.
  void Poison() { ASSERT_EQ(cudaMemset(data(), 0xFF, size_ * sizeof(T)), cudaSuccess); }
  // Copies the device contents back (synchronizes the device first), widened to double.
  std::vector<double> Download() const {
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    std::vector<T> host(size_);
    EXPECT_EQ(cudaMemcpy(host.data(), data(), size_ * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
    std::vector<double> out(size_);
    for (size_t i = 0; i < size_; ++i) out[i] = FromStorage(host[i]);
    return out;
  }
  // The raw bytes of the device contents (for bit-for-bit determinism checks).
  std::vector<unsigned char> Bytes() const {
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    std::vector<unsigned char> bytes(size_ * sizeof(T));
    EXPECT_EQ(cudaMemcpy(bytes.data(), data(), bytes.size(), cudaMemcpyDeviceToHost), cudaSuccess);
    return bytes;
  }

 private:
  base::DeviceBuffer buffer_;
  size_t size_;
  size_t offset_;
};

// The parameters and gradients of a layernorm backward check, rounded through T: weight in [0.5, 1.5), bias, dout
// (n values), the input gradient already there before the backward adds to it (n values) and the dweight / dbias
// already there, from seeds seed, seed + 1, ..., seed + 5.
struct LayerNormGradientValues {
  std::vector<double> weight, bias, dout, dx_before, dweight_before, dbias_before;
};
template <typename T>
LayerNormGradientValues RandomLayerNormGradientValues(int64_t n, int64_t channels, uint64_t seed) {
  LayerNormGradientValues values;
  values.weight = RoundedThrough<T>(RandomValues(channels, seed, 0.5, 1.5));
  values.bias = RoundedThrough<T>(RandomValues(channels, seed + 1));
  values.dout = RoundedThrough<T>(RandomValues(n, seed + 2));
  values.dx_before = RoundedThrough<T>(RandomValues(n, seed + 3));
  values.dweight_before = RoundedThrough<T>(RandomValues(channels, seed + 4));
  values.dbias_before = RoundedThrough<T>(RandomValues(channels, seed + 5));
  return values;
}

}  // namespace kachi::testing

// The preamble of every cuda_memory test: the typed suite `NAME` over the fp32 and bf16 storage types.
#define KACHI_CUDA_MEMORY_TYPED_SUITE(NAME)                          \
  template <typename T>                                              \
  class NAME : public ::testing::Test {};                            \
  using NAME##StorageTypes = ::testing::Types<float, __nv_bfloat16>; \
  TYPED_TEST_SUITE(NAME, NAME##StorageTypes)

#endif  // KACHI_TESTS_CUDA_MEMORY_CUDA_MEMORY_TEST_UTIL_H_
