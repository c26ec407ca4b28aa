// One benchmark buffer, in host memory (64-byte aligned) or device memory (CUDA builds), with byte-level upload
// and download for filling inputs and checking results.
#ifndef KACHI_BENCH_COMM_BENCH_BUFFER_H_
#define KACHI_BENCH_COMM_BENCH_BUFFER_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"

namespace kachi {

class BenchBuffer {
 public:
  // A buffer of `bytes` (at least 1) in device memory when `on_device`, host memory otherwise.
  static absl::StatusOr<BenchBuffer> Allocate(size_t bytes, bool on_device);

  BenchBuffer(BenchBuffer&& other) noexcept;
  BenchBuffer& operator=(BenchBuffer&& other) noexcept;
  ~BenchBuffer();

  // Start of the buffer.
  void* data() const { return data_; }
  // Capacity in bytes.
  size_t bytes() const { return bytes_; }

  // Copies `content` to the start of the buffer (error when it does not fit).
  absl::Status Upload(const std::vector<uint8_t>& content);
  // The first `bytes` bytes of the buffer.
  absl::StatusOr<std::vector<uint8_t>> Download(size_t bytes) const;

 private:
  BenchBuffer(void* data, size_t bytes, bool on_device) : data_(data), bytes_(bytes), on_device_(on_device) {}
  void Release();

  void* data_ = nullptr;
  size_t bytes_ = 0;
  bool on_device_ = false;
};

}  // namespace kachi

#endif  // KACHI_BENCH_COMM_BENCH_BUFFER_H_
