// Tests for kachi::cuda::AttentionForward/Backward (kernels/attention_cuda.h) against the CPU twin run in double on
// the same (bf16-rounded) inputs: bf16 forward out and logsumexp, bf16 backward dqkv (accumulated into a random
// prefill) at sequence lengths that are and are not multiples of the tiles, B and NH > 1, both forward query
// tiles; bitwise-repeatable backward; the fp32 path at fp32 tolerance; and the argument errors.
//
// Tolerances (norm-relative, ||gpu - ref|| / ||ref||, plus max |gpu - ref| / max |ref|):
//   bf16: 1e-2 each (probabilities and dS are rounded to bf16 before their matmuls; outputs are bf16).
//   fp32: 1e-5 each.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/attention.h"
#include "kernels/attention_cuda.h"
#include "kernels/base/device_buffer.h"
#include "tests/lib/relative_errors.h"
#include "tests/test_util.h"

namespace kachi {
namespace {

using testing::CompareWithReference;
using testing::RelativeErrors;

constexpr int64_t kHeadSize = 64;
constexpr double kBf16Tolerance = 1e-2;
constexpr double kFloatTolerance = 1e-5;
constexpr double kLogSumExpTolerance = 1e-4;  // absolute: fp32 statistics of exact bf16 inputs
constexpr uint16_t kBf16NaN = 0x7fc0;

// One problem size.
struct Shape {
  int64_t batch;
  int64_t seq_len;
  int64_t heads;

  // Elements of qkv [B, T, 3, NH, 64], of out-shaped tensors [B, T, NH, 64], and rows of logsumexp [B, NH, T].
  int64_t qkv_count() const { return batch * seq_len * 3 * heads * kHeadSize; }
  int64_t out_count() const { return batch * seq_len * heads * kHeadSize; }
  int64_t rows() const { return batch * heads * seq_len; }
};

std::string ShapeName(const Shape& shape) {
  return "B" + std::to_string(shape.batch) + "_T" + std::to_string(shape.seq_len) + "_NH" +
         std::to_string(shape.heads);
}

// fp32 -> bf16 bits, round to nearest even (inputs here are finite).
uint16_t ToBf16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  bits += 0x7fff + ((bits >> 16) & 1);
  return static_cast<uint16_t>(bits >> 16);
}

double FromBf16(uint16_t value) {
  const uint32_t bits = static_cast<uint32_t>(value) << 16;
  float result;
  std::memcpy(&result, &bits, 4);
  return result;
}

// Random bf16 values in [lo, hi) (never exactly zero) and their exact double values.
struct Bf16Values {
  std::vector<uint16_t> bits;
  std::vector<double> values;
};
Bf16Values RandomBf16(size_t n, uint64_t seed, float lo, float hi) {
  const std::vector<float> floats = testing::RandomFloats(n, seed, lo, hi);
  Bf16Values result{std::vector<uint16_t>(n), std::vector<double>(n)};
  for (size_t i = 0; i < n; ++i) {
    result.bits[i] = ToBf16(floats[i] == 0.0f ? 1e-3f : floats[i]);
    result.values[i] = FromBf16(result.bits[i]);
  }
  return result;
}

// A device copy of a host vector, freed on scope exit.
template <typename T>
class DeviceArray {
 public:
  explicit DeviceArray(const std::vector<T>& host) : size_(host.size()) {
    EXPECT_TRUE(buffer_.Reallocate(size_ * sizeof(T)).ok());
    EXPECT_EQ(cudaMemcpy(get(), host.data(), size_ * sizeof(T), cudaMemcpyHostToDevice), cudaSuccess);
  }
  T* get() const { return buffer_.as<T>(); }
  // Copies the device contents back (after synchronizing the device).
  std::vector<T> ToHost() const {
    std::vector<T> host(size_);
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    EXPECT_EQ(cudaMemcpy(host.data(), get(), size_ * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
    return host;
  }

 private:
  size_t size_;
  base::DeviceBuffer buffer_;
};

__nv_bfloat16* AsBf16(uint16_t* pointer) { return reinterpret_cast<__nv_bfloat16*>(pointer); }

// The CPU twin's forward in double: out, att, and log(sum_j exp(s_ij)) per (b, h, t) recovered from att.
struct Reference {
  std::vector<double> out;
  std::vector<double> att;
  std::vector<double> logsumexp;
};
Reference ReferenceForward(const std::vector<double>& qkv, const Shape& s) {
  Reference ref{std::vector<double>(s.batch * s.seq_len * s.heads * kHeadSize),
                std::vector<double>(s.batch * s.heads * s.seq_len * s.seq_len),
                std::vector<double>(s.batch * s.heads * s.seq_len)};
  cpu::AttentionForward<double>(ref.out.data(), ref.att.data(), qkv.data(), s.batch, s.seq_len, s.heads, kHeadSize);
  // att[t][0] = exp(s_t0) / sum, so log(sum) = s_t0 - log(att[t][0]).
  const int64_t row_stride = 3 * s.heads * kHeadSize;
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.heads; ++h) {
      for (int64_t t = 0; t < s.seq_len; ++t) {
        double score = 0;
        for (int64_t d = 0; d < kHeadSize; ++d) {
          score += qkv[(b * s.seq_len + t) * row_stride + h * kHeadSize + d] *
                   qkv[(b * s.seq_len) * row_stride + (s.heads + h) * kHeadSize + d];
        }
        score /= std::sqrt(static_cast<double>(kHeadSize));
        const double att0 = ref.att[((b * s.heads + h) * s.seq_len + t) * s.seq_len];
        ref.logsumexp[(b * s.heads + h) * s.seq_len + t] = score - std::log(att0);
      }
    }
  }
  return ref;
}

// The CPU twin's dqkv (from zero) in double.
std::vector<double> ReferenceBackward(const std::vector<double>& dout, const std::vector<double>& qkv,
                                      const Reference& forward, const Shape& s) {
  std::vector<double> dqkv(qkv.size(), 0.0);
  cpu::AttentionBackward<double>(dqkv.data(), dout.data(), qkv.data(), forward.att.data(), s.batch, s.seq_len,
                                 s.heads, kHeadSize);
  return dqkv;
}

std::vector<double> ToDouble(const std::vector<uint16_t>& bits) {
  std::vector<double> out(bits.size());
  for (size_t i = 0; i < bits.size(); ++i) out[i] = FromBf16(bits[i]);
  return out;
}

// max_i |a[i] - b[i]|, infinite when any a[i] is not finite.
double MaxAbsError(const std::vector<float>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    worst = std::isfinite(a[i]) ? std::max(worst, std::abs(a[i] - b[i])) : INFINITY;
  }
  return worst;
}

// Sizes: T = 1, odd, not a multiple of 64 or 128, exact multiples; B and NH > 1.
const Shape kShapes[] = {{1, 1, 1}, {2, 17, 3}, {1, 100, 2}, {3, 130, 1}, {2, 256, 2}};

class AttentionCudaTest : public ::testing::TestWithParam<Shape> {};

TEST_P(AttentionCudaTest, Bf16ForwardMatchesCpuTwinForBothQueryTiles) {
  KACHI_SKIP_WITHOUT_GPU();
  const Shape s = GetParam();
  const Bf16Values qkv = RandomBf16(s.qkv_count(), 1000 + s.seq_len, -1, 1);
  const Reference ref = ReferenceForward(qkv.values, s);
  DeviceArray<uint16_t> qkv_device(qkv.bits);
  for (int query_rows : {64, 128}) {
    SCOPED_TRACE("query tile " + std::to_string(query_rows));
    DeviceArray<uint16_t> out(std::vector<uint16_t>(s.out_count(), kBf16NaN));  // poisoned
    DeviceArray<float> lse(std::vector<float>(s.rows(), std::numeric_limits<float>::quiet_NaN()));
    ASSERT_TRUE(cuda::AttentionForwardBf16WithQueryTile(query_rows, out.get(), lse.get(), qkv_device.get(),
                                                        s.batch, s.seq_len, s.heads, kHeadSize, nullptr)
                    .ok());
    const RelativeErrors out_errors = CompareWithReference(ToDouble(out.ToHost()), ref.out);
    EXPECT_LE(out_errors.norm_relative, kBf16Tolerance);
    EXPECT_LE(out_errors.max_relative, kBf16Tolerance);
    EXPECT_EQ(out_errors.non_finite, 0) << "unwritten (NaN-poisoned) outputs";
    EXPECT_LE(MaxAbsError(lse.ToHost(), ref.logsumexp), kLogSumExpTolerance);
  }
}

TEST_P(AttentionCudaTest, Bf16DefaultForwardMatchesExplicitTile) {
  KACHI_SKIP_WITHOUT_GPU();
  const Shape s = GetParam();
  const Bf16Values qkv = RandomBf16(s.qkv_count(), 2000 + s.seq_len, -1, 1);
  DeviceArray<uint16_t> qkv_device(qkv.bits);
  DeviceArray<uint16_t> out_default(std::vector<uint16_t>(s.out_count(), kBf16NaN));
  DeviceArray<uint16_t> out_explicit(std::vector<uint16_t>(s.out_count(), kBf16NaN));
  DeviceArray<float> lse(std::vector<float>(s.rows(), 0.5f));
  ASSERT_TRUE(cuda::AttentionForward(AsBf16(out_default.get()), lse.get(), AsBf16(qkv_device.get()), s.batch,
                                     s.seq_len, s.heads, kHeadSize, nullptr)
                  .ok());
  ASSERT_TRUE(cuda::AttentionForwardBf16WithQueryTile(cuda::kDefaultForwardQueryRows, out_explicit.get(), lse.get(),
                                                      qkv_device.get(), s.batch, s.seq_len, s.heads, kHeadSize,
                                                      nullptr)
                  .ok());
  EXPECT_EQ(out_default.ToHost(), out_explicit.ToHost());
}

TEST_P(AttentionCudaTest, Bf16BackwardMatchesCpuTwinAndRepeatsBitwise) {
  KACHI_SKIP_WITHOUT_GPU();
  const Shape s = GetParam();
  const Bf16Values qkv = RandomBf16(s.qkv_count(), 3000 + s.seq_len, -1, 1);
  const Bf16Values dout = RandomBf16(s.out_count(), 4000 + s.seq_len, -1, 1);
  // Small prefill, so the bf16 rounding of (prefill + gradient) stays far below the tolerance.
  const Bf16Values prefill = RandomBf16(s.qkv_count(), 5000 + s.seq_len, -1e-3f, 1e-3f);
  const Reference ref = ReferenceForward(qkv.values, s);
  const std::vector<double> ref_grad = ReferenceBackward(dout.values, qkv.values, ref, s);

  DeviceArray<uint16_t> qkv_device(qkv.bits);
  DeviceArray<uint16_t> dout_device(dout.bits);
  DeviceArray<uint16_t> out(std::vector<uint16_t>(s.out_count(), kBf16NaN));
  DeviceArray<float> lse(std::vector<float>(s.rows(), std::numeric_limits<float>::quiet_NaN()));
  DeviceArray<float> scratch(std::vector<float>(cuda::AttentionBackwardScratchFloats(s.batch, s.seq_len, s.heads),
                                                std::numeric_limits<float>::quiet_NaN()));
  ASSERT_TRUE(cuda::AttentionForward(AsBf16(out.get()), lse.get(), AsBf16(qkv_device.get()), s.batch, s.seq_len,
                                     s.heads, kHeadSize, nullptr)
                  .ok());
  std::vector<std::vector<uint16_t>> results;
  for (int run = 0; run < 2; ++run) {
    DeviceArray<uint16_t> dqkv(prefill.bits);
    ASSERT_TRUE(cuda::AttentionBackward(AsBf16(dqkv.get()), AsBf16(dout_device.get()), AsBf16(qkv_device.get()),
                                        AsBf16(out.get()), lse.get(), scratch.get(), s.batch, s.seq_len, s.heads,
                                        kHeadSize, nullptr)
                    .ok());
    results.push_back(dqkv.ToHost());
  }
  std::vector<double> accumulated = ToDouble(results[0]);
  for (size_t i = 0; i < accumulated.size(); ++i) accumulated[i] -= prefill.values[i];
  const RelativeErrors errors = CompareWithReference(accumulated, ref_grad);
  EXPECT_LE(errors.norm_relative, kBf16Tolerance);
  EXPECT_LE(errors.max_relative, kBf16Tolerance);
  EXPECT_EQ(errors.non_finite, 0);
  // Each of q, k, v separately (a wrong part could hide behind a large other one). With one position the exact
  // dq and dk are zero (a single key has probability 1), so only the whole is compared there.
  const int64_t part = s.heads * kHeadSize;
  for (int which = 0; which < (s.seq_len > 1 ? 3 : 0); ++which) {
    std::vector<double> got, want;
    for (int64_t i = 0; i < s.qkv_count(); ++i) {
      if ((i % (3 * part)) / part != which) continue;
      got.push_back(accumulated[i]);
      want.push_back(ref_grad[i]);
    }
    const RelativeErrors part_errors = CompareWithReference(got, want);
    EXPECT_LE(part_errors.norm_relative, kBf16Tolerance) << "part " << "qkv"[which];
  }
  EXPECT_EQ(results[0], results[1]) << "backward is not bitwise repeatable";
}

TEST_P(AttentionCudaTest, FloatForwardAndBackwardMatchCpuTwin) {
  KACHI_SKIP_WITHOUT_GPU();
  const Shape s = GetParam();
  const std::vector<float> qkv = testing::RandomFloats(s.qkv_count(), 6000 + s.seq_len);
  const std::vector<float> dout = testing::RandomFloats(s.out_count(), 7000 + s.seq_len);
  const std::vector<float> prefill = testing::RandomFloats(s.qkv_count(), 8000 + s.seq_len, -0.1f, 0.1f);
  const std::vector<double> qkv_double(qkv.begin(), qkv.end());
  const Reference ref = ReferenceForward(qkv_double, s);
  const std::vector<double> ref_grad =
      ReferenceBackward(std::vector<double>(dout.begin(), dout.end()), qkv_double, ref, s);

  DeviceArray<float> qkv_device(qkv);
  DeviceArray<float> dout_device(dout);
  DeviceArray<float> out(std::vector<float>(s.out_count(), std::numeric_limits<float>::quiet_NaN()));
  DeviceArray<float> lse(std::vector<float>(s.rows(), std::numeric_limits<float>::quiet_NaN()));
  DeviceArray<float> scratch(std::vector<float>(s.rows(), std::numeric_limits<float>::quiet_NaN()));
  DeviceArray<float> dqkv(prefill);
  ASSERT_TRUE(cuda::AttentionForward(out.get(), lse.get(), qkv_device.get(), s.batch, s.seq_len, s.heads, kHeadSize,
                                     nullptr)
                  .ok());
  ASSERT_TRUE(cuda::AttentionBackward(dqkv.get(), dout_device.get(), qkv_device.get(), out.get(), lse.get(),
                                      scratch.get(), s.batch, s.seq_len, s.heads, kHeadSize, nullptr)
                  .ok());
  const std::vector<float> out_host = out.ToHost();
  const RelativeErrors out_errors =
      CompareWithReference(std::vector<double>(out_host.begin(), out_host.end()), ref.out);
  EXPECT_LE(out_errors.norm_relative, kFloatTolerance);
  EXPECT_LE(out_errors.max_relative, kFloatTolerance);
  EXPECT_EQ(out_errors.non_finite, 0);
  EXPECT_LE(MaxAbsError(lse.ToHost(), ref.logsumexp), kFloatTolerance);
  const std::vector<float> dqkv_host = dqkv.ToHost();
  std::vector<double> accumulated(s.qkv_count());
  for (int64_t i = 0; i < s.qkv_count(); ++i) accumulated[i] = static_cast<double>(dqkv_host[i]) - prefill[i];
  const RelativeErrors grad_errors = CompareWithReference(accumulated, ref_grad);
  EXPECT_LE(grad_errors.norm_relative, kFloatTolerance);
  EXPECT_LE(grad_errors.max_relative, kFloatTolerance);
}

INSTANTIATE_TEST_SUITE_P(Shapes, AttentionCudaTest, ::testing::ValuesIn(kShapes),
                         [](const ::testing::TestParamInfo<Shape>& info) { return ShapeName(info.param); });

// Argument errors are reported before any device work, so these run with or without a GPU.
TEST(AttentionCudaArgumentsTest, RejectsHeadSizeOtherThan64) {
  for (int64_t head_size : {32, 128}) {
    const absl::Status status = cuda::AttentionForward<__nv_bfloat16>(nullptr, nullptr, nullptr, 1, 16, 1, head_size,
                                                                      nullptr);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(status.message().find("head_size must be 64"), std::string::npos) << status;
    EXPECT_NE(status.message().find(std::to_string(head_size)), std::string::npos) << status;
    const absl::Status backward = cuda::AttentionBackward<float>(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                                                 1, 16, 1, head_size, nullptr);
    EXPECT_EQ(backward.code(), absl::StatusCode::kInvalidArgument) << backward;
  }
}

TEST(AttentionCudaArgumentsTest, RejectsBadQueryTileSizesAndMisalignedPointers) {
  alignas(16) static uint16_t storage[64];
  const absl::Status tile = cuda::AttentionForwardBf16WithQueryTile(96, storage, nullptr, storage, 1, 16, 1, 64,
                                                                    nullptr);
  EXPECT_EQ(tile.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(tile.message().find("64 or 128, got 96"), std::string::npos) << tile;
  const absl::Status misaligned =
      cuda::AttentionForward(AsBf16(storage), nullptr, AsBf16(storage + 1), 1, 16, 1, 64, nullptr);
  EXPECT_EQ(misaligned.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(misaligned.message().find("qkv must be 16-byte aligned"), std::string::npos) << misaligned;
  const absl::Status empty = cuda::AttentionForward(AsBf16(storage), nullptr, AsBf16(storage), 1, 0, 1, 64, nullptr);
  EXPECT_EQ(empty.code(), absl::StatusCode::kInvalidArgument) << empty;
}

}  // namespace
}  // namespace kachi
