// Safetensors round trips: every dtype (with the rounding of the 16-bit floats), scalars and empty tensors,
// metadata and names with characters that need JSON escapes, header alignment, and atomic writes to disk.
#include "runtime/io/safetensors.h"

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <limits>
#include <random>

#include "comm/dtype.h"
#include "gtest/gtest.h"
#include "tests/io/io_test_util.h"

namespace kachi {
namespace {

// Random integers that fill most of `dtype`'s range (never all zero).
std::vector<int64_t> RandomInts(SafetensorsDType dtype, size_t n, uint64_t seed) {
  int64_t lo = std::numeric_limits<int64_t>::min(), hi = std::numeric_limits<int64_t>::max();
  if (dtype == SafetensorsDType::kI32) lo = INT32_MIN, hi = INT32_MAX;
  if (dtype == SafetensorsDType::kI16) lo = INT16_MIN, hi = INT16_MAX;
  if (dtype == SafetensorsDType::kI8) lo = INT8_MIN, hi = INT8_MAX;
  if (dtype == SafetensorsDType::kU8) lo = 0, hi = 255;
  if (dtype == SafetensorsDType::kBool) lo = 0, hi = 1;
  std::mt19937_64 gen(seed);
  std::uniform_int_distribution<int64_t> dist(lo, hi);
  std::vector<int64_t> out(n);
  for (int64_t& value : out) value = dist(gen);
  out[0] = hi;  // the extremes survive
  out[n - 1] = lo;
  return out;
}

// What a float becomes after a round trip through `dtype`.
float Rounded(SafetensorsDType dtype, float value) {
  switch (dtype) {
    case SafetensorsDType::kBF16:
      return BFloat16ToFloat(FloatToBFloat16(value));
    case SafetensorsDType::kF16:
      return HalfToFloat(FloatToHalf(value));
    default:
      return value;
  }
}

TEST(SafetensorsTest, EveryDTypeRoundTripsThroughBytes) {
  uint64_t seed = 101;
  for (const SafetensorsDType dtype : kAllSafetensorsDTypes) {
    SCOPED_TRACE(SafetensorsDTypeName(dtype));
    const std::vector<int64_t> shape = {3, 5, 2};
    SafetensorsFile file;
    std::vector<float> floats;
    std::vector<int64_t> ints;
    if (IsFloatingDType(dtype)) {
      floats = testing::NonZeroFloats(30, seed++, -100.0f, 100.0f);
      ASSERT_TRUE(file.AddFloats("weights", shape, floats, dtype).ok());
    } else {
      ints = RandomInts(dtype, 30, seed++);
      ASSERT_TRUE(file.AddInts("weights", shape, ints, dtype).ok());
    }
    const std::string bytes = SerializeSafetensors(file);
    absl::StatusOr<SafetensorsFile> parsed = ParseSafetensors(bytes, "round_trip");
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    const SafetensorsTensor* tensor = parsed->Find("weights");
    ASSERT_NE(tensor, nullptr);
    EXPECT_EQ(tensor->dtype, dtype);
    EXPECT_EQ(tensor->shape, shape);
    EXPECT_EQ(tensor->bytes, file.Find("weights")->bytes);
    if (IsFloatingDType(dtype)) {
      absl::StatusOr<std::vector<float>> values = parsed->Floats("weights");
      ASSERT_TRUE(values.ok()) << values.status();
      for (size_t i = 0; i < floats.size(); ++i) EXPECT_EQ((*values)[i], Rounded(dtype, floats[i])) << i;
      EXPECT_FALSE(parsed->Ints("weights").ok());
    } else {
      absl::StatusOr<std::vector<int64_t>> values = parsed->Ints("weights");
      ASSERT_TRUE(values.ok()) << values.status();
      EXPECT_EQ(*values, ints);
      EXPECT_FALSE(parsed->Floats("weights").ok());
    }
  }
}

TEST(SafetensorsTest, ManyTensorsScalarsEmptyTensorsAndMetadata) {
  SafetensorsFile file;
  const std::vector<float> matrix = testing::NonZeroFloats(12, 7);
  const std::vector<float> scalar = testing::NonZeroFloats(1, 8);
  ASSERT_TRUE(file.AddFloats("z.matrix", {4, 3}, matrix).ok());
  ASSERT_TRUE(file.AddFloats("a.scalar", {}, scalar).ok());
  ASSERT_TRUE(file.AddFloats("m.empty", {0, 7}, {}, SafetensorsDType::kF16).ok());
  ASSERT_TRUE(file.AddInts("tokens \"quoted\"\\path\n\xc3\xa9", {2}, {-3, 9}, SafetensorsDType::kI64).ok());
  file.mutable_metadata()["config"] = "{\"layers\": 2}\ttab\x01";
  file.mutable_metadata()["empty"] = "";

  const std::string bytes = SerializeSafetensors(file);
  uint64_t header_size = 0;
  std::memcpy(&header_size, bytes.data(), 8);
  EXPECT_EQ((8 + header_size) % 8, 0u) << "header must be padded to 8-byte alignment";
  EXPECT_EQ(bytes.size(), 8 + header_size + (12 + 1) * 4 + 2 * 8);

  absl::StatusOr<SafetensorsFile> parsed = ParseSafetensors(bytes, "many");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->metadata(), file.metadata());
  ASSERT_EQ(parsed->tensors().size(), 4u);
  for (const auto& [name, tensor] : file.tensors()) {
    const SafetensorsTensor* read = parsed->Find(name);
    ASSERT_NE(read, nullptr) << name;
    EXPECT_EQ(read->dtype, tensor.dtype) << name;
    EXPECT_EQ(read->shape, tensor.shape) << name;
    EXPECT_EQ(read->bytes, tensor.bytes) << name;
  }
  EXPECT_EQ(*parsed->Floats("a.scalar"), scalar);
  EXPECT_EQ(*parsed->Floats("z.matrix"), matrix);
  EXPECT_TRUE(parsed->Floats("m.empty")->empty());
}

TEST(SafetensorsTest, AddRejectsBadTensors) {
  SafetensorsFile file;
  ASSERT_TRUE(file.AddFloats("x", {2}, {1.5f, -2.5f}).ok());
  EXPECT_EQ(file.AddFloats("x", {2}, {1.5f, -2.5f}).code(), absl::StatusCode::kAlreadyExists);
  absl::Status reserved = file.AddFloats("__metadata__", {1}, {1.0f});
  EXPECT_NE(reserved.message().find("reserved"), absl::string_view::npos) << reserved;
  absl::Status size = file.AddFloats("y", {2, 2}, {1.0f, 2.0f, 3.0f});
  EXPECT_NE(size.message().find("needs 16 bytes, found 12"), absl::string_view::npos) << size;
  absl::Status range = file.AddInts("z", {1}, {300}, SafetensorsDType::kI8);
  EXPECT_NE(range.message().find("does not fit dtype I8"), absl::string_view::npos) << range;
  EXPECT_FALSE(file.AddFloats("w", {1}, {1.0f}, SafetensorsDType::kI32).ok());
  absl::StatusOr<std::vector<float>> missing = file.Floats("nope");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
}

TEST(SafetensorsTest, WritesAtomicallyAndReadsBack) {
  const std::string dir = testing::MakeTempDir("write");
  const std::string path = dir + "/model.safetensors";
  SafetensorsFile first;
  ASSERT_TRUE(first.AddFloats("a", {3}, testing::NonZeroFloats(3, 21)).ok());
  ASSERT_TRUE(WriteSafetensors(path, first).ok());
  SafetensorsFile second;
  const std::vector<float> values = testing::NonZeroFloats(6, 22);
  ASSERT_TRUE(second.AddFloats("b", {2, 3}, values, SafetensorsDType::kBF16).ok());
  ASSERT_TRUE(WriteSafetensors(path, second).ok());  // replaces the first file

  absl::StatusOr<SafetensorsFile> read = ReadSafetensors(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->Find("a"), nullptr);
  ASSERT_NE(read->Find("b"), nullptr);
  EXPECT_EQ(read->Find("b")->bytes, second.Find("b")->bytes);
  int entries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    ++entries;
    EXPECT_EQ(entry.path().filename(), "model.safetensors") << "temporary file left behind";
  }
  EXPECT_EQ(entries, 1);

  absl::Status unwritable = WriteSafetensors(dir + "/missing_dir/x.safetensors", second);
  EXPECT_NE(unwritable.message().find("missing_dir/x.safetensors"), absl::string_view::npos) << unwritable;
  absl::StatusOr<SafetensorsFile> absent = ReadSafetensors(dir + "/absent.safetensors");
  EXPECT_NE(absent.status().message().find("absent.safetensors"), absl::string_view::npos) << absent.status();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kachi
