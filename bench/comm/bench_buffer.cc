// Host or device benchmark buffers (see bench_buffer.h).
#include "bench/comm/bench_buffer.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "kernels/base/status_macros.h"

#ifdef KACHI_WITH_CUDA
#include <cuda_runtime.h>

#include "kernels/base/cuda_status.h"
#endif

namespace kachi {

absl::StatusOr<BenchBuffer> BenchBuffer::Allocate(size_t bytes, bool on_device) {
  bytes = std::max<size_t>(bytes, 1);
  if (on_device) {
#ifdef KACHI_WITH_CUDA
    void* data = nullptr;
    KACHI_RETURN_IF_ERROR(base::CudaStatus(cudaMalloc(&data, bytes), absl::StrCat("cudaMalloc of ", bytes, " bytes")));
    return BenchBuffer(data, bytes, true);
#else
    return absl::UnavailableError("device buffers requested but this build has no CUDA");
#endif
  }
  const size_t rounded = (bytes + 63) / 64 * 64;
  void* data = std::aligned_alloc(64, rounded);
  if (data == nullptr) return absl::ResourceExhaustedError(absl::StrCat("cannot allocate ", bytes, " host bytes"));
  return BenchBuffer(data, bytes, false);
}

BenchBuffer::BenchBuffer(BenchBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), bytes_(other.bytes_), on_device_(other.on_device_) {}

BenchBuffer& BenchBuffer::operator=(BenchBuffer&& other) noexcept {
  if (this != &other) {
    Release();
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = other.bytes_;
    on_device_ = other.on_device_;
  }
  return *this;
}

BenchBuffer::~BenchBuffer() { Release(); }

void BenchBuffer::Release() {
  if (data_ == nullptr) return;
#ifdef KACHI_WITH_CUDA
  if (on_device_) {
    cudaFree(data_);
    data_ = nullptr;
    return;
  }
#endif
  std::free(data_);
  data_ = nullptr;
}

absl::Status BenchBuffer::Upload(const std::vector<uint8_t>& content) {
  if (content.size() > bytes_) {
    return absl::InvalidArgumentError(absl::StrCat("upload of ", content.size(), " bytes into a buffer of ", bytes_));
  }
  if (content.empty()) return absl::OkStatus();
#ifdef KACHI_WITH_CUDA
  if (on_device_)
    return base::CudaStatus(cudaMemcpy(data_, content.data(), content.size(), cudaMemcpyHostToDevice), "upload");
#endif
  std::memcpy(data_, content.data(), content.size());
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint8_t>> BenchBuffer::Download(size_t bytes) const {
  if (bytes > bytes_) {
    return absl::InvalidArgumentError(absl::StrCat("download of ", bytes, " bytes from a buffer of ", bytes_));
  }
  std::vector<uint8_t> out(bytes);
  if (bytes == 0) return out;
#ifdef KACHI_WITH_CUDA
  if (on_device_) {
    absl::Status status = base::CudaStatus(cudaMemcpy(out.data(), data_, bytes, cudaMemcpyDeviceToHost), "download");
    if (!status.ok()) return status;
    return out;
  }
#endif
  std::memcpy(out.data(), data_, bytes);
  return out;
}

}  // namespace kachi
