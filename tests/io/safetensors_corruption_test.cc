// Every class of malformed safetensors file is rejected with an error that names the file and the problem.
#include <cstring>
#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "runtime/io/safetensors.h"
#include "tests/io/io_test_util.h"

namespace kachi {
namespace {

constexpr char kSource[] = "corrupt.safetensors";

// A file made of `header` (length field computed) followed by `data_bytes` bytes of random data.
std::string Build(const std::string& header, size_t data_bytes, uint64_t seed = 5) {
  std::string out(8, '\0');
  const uint64_t size = header.size();
  std::memcpy(out.data(), &size, 8);
  out += header;
  const std::vector<float> noise = testing::NonZeroFloats((data_bytes + 3) / 4, seed);
  out.append(reinterpret_cast<const char*>(noise.data()), data_bytes);
  return out;
}

// Parses `bytes` and expects an error mentioning the file and every fragment in `expected`.
void ExpectRejected(const std::string& bytes, std::initializer_list<absl::string_view> expected) {
  absl::StatusOr<SafetensorsFile> parsed = ParseSafetensors(bytes, kSource);
  ASSERT_FALSE(parsed.ok()) << "accepted a corrupt file";
  const std::string message(parsed.status().message());
  EXPECT_NE(message.find(kSource), std::string::npos) << message;
  for (absl::string_view fragment : expected)
    EXPECT_NE(message.find(std::string(fragment)), std::string::npos) << message;
}

TEST(SafetensorsCorruptionTest, ValidBaselineParses) {
  const std::string ok = Build(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8);
  EXPECT_TRUE(ParseSafetensors(ok, kSource).ok());
}

TEST(SafetensorsCorruptionTest, BadLength) {
  ExpectRejected("abc", {"3 bytes, shorter than the 8-byte header length"});
  std::string too_long = Build(R"({})", 0);
  const uint64_t claimed = 4096;
  std::memcpy(too_long.data(), &claimed, 8);
  ExpectRejected(too_long, {"header length 4096 exceeds the 2 bytes"});
  std::string huge = Build(R"({})", 0);
  const uint64_t enormous = uint64_t{1} << 40;
  std::memcpy(huge.data(), &enormous, 8);
  ExpectRejected(huge, {"exceeds the 100000000-byte limit"});
  ExpectRejected(Build("   {}", 0), {"does not start with '{'"});
}

TEST(SafetensorsCorruptionTest, MalformedJson) {
  ExpectRejected(Build(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})", 8), {"expected ',' or '}'"});
  ExpectRejected(Build(R"({"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}})", 8), {"fractions and exponents"});
  ExpectRejected(Build(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{}})", 8), {"duplicate key"});
  ExpectRejected(Build(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}} x)", 8), {"end of the header"});
  ExpectRejected(Build(R"({"a":true})", 0), {"an object, array, string or integer"});
  ExpectRejected(Build("{\"a\":\"bad\\q\"}", 0), {"after '\\'"});
}

TEST(SafetensorsCorruptionTest, MalformedEntries) {
  ExpectRejected(Build(R"({"a":{"dtype":"F32","shape":[2]}})", 8), {"tensor \"a\"", "dtype, shape and data_offsets"});
  ExpectRejected(Build(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1}})", 8),
                 {"unknown key \"extra\""});
  ExpectRejected(Build(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8),
                 {"non-negative integers, found -2"});
  ExpectRejected(Build(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4,8]}})", 8),
                 {"2 integers [begin, end], found 3"});
  ExpectRejected(Build(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8), {"end before they begin"});
  ExpectRejected(Build(R"({"a":[1,2]})", 0), {"entry must be an object, found JSON array"});
  ExpectRejected(Build(R"({"__metadata__":{"k":5}})", 0), {"__metadata__ value of \"k\" must be a string"});
}

TEST(SafetensorsCorruptionTest, UnknownDType) {
  ExpectRejected(Build(R"({"a":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}})", 8),
                 {"tensor \"a\"", "unknown safetensors dtype \"Q7\""});
  ExpectRejected(Build(R"({"a":{"dtype":"f32","shape":[2],"data_offsets":[0,8]}})", 8), {"dtype \"f32\""});
}

TEST(SafetensorsCorruptionTest, ShapeSizeMismatch) {
  ExpectRejected(Build(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8),
                 {"tensor \"a\"", "shape [3] of dtype F32 needs 12 bytes but data_offsets [0, 8] span 8"});
  ExpectRejected(Build(R"({"a":{"dtype":"BF16","shape":[2,2],"data_offsets":[0,4]}})", 4), {"needs 8 bytes"});
}

TEST(SafetensorsCorruptionTest, OffsetsOutOfRange) {
  ExpectRejected(Build(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8),
                 {"tensor \"a\"", "out of range of the 8-byte data buffer"});
}

TEST(SafetensorsCorruptionTest, OverlappingOffsets) {
  ExpectRejected(Build(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                       R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                       12),
                 {"tensor \"b\"", "overlap tensor \"a\""});
}

TEST(SafetensorsCorruptionTest, GapsAndTrailingBytes) {
  ExpectRejected(Build(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8),
                 {"bytes [0, 4) belong to no tensor"});
  ExpectRejected(Build(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 8),
                 {"data buffer is 8 bytes but its tensors cover 4"});
}

TEST(SafetensorsCorruptionTest, ReadNamesThePath) {
  const std::string dir = testing::MakeTempDir("corrupt");
  const std::string path = dir + "/truncated.safetensors";
  std::string bytes = Build(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 16);
  bytes.resize(bytes.size() - 5);  // a truncated download
  std::ofstream(path, std::ios::binary) << bytes;
  absl::StatusOr<SafetensorsFile> read = ReadSafetensors(path);
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.status().message().find(path), absl::string_view::npos) << read.status();
  EXPECT_NE(read.status().message().find("out of range"), absl::string_view::npos) << read.status();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kachi
