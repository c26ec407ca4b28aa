// runtime/metrics/: CRC-32C against published vectors (RFC 3720 B.4 and the classic check value), the TFRecord
// framing of fresh random records parsed back, and an event file written then read record by record (file version
// first, then every scalar at its step, bit-equal as float).
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include "gtest/gtest.h"
#include "runtime/metrics/crc32c.h"
#include "runtime/metrics/event_file_writer.h"
#include "runtime/metrics/tensorboard_event.pb.h"
#include "tests/train/train_test_util.h"

namespace kachi {
namespace {

uint32_t Crc(const std::string& s) { return Crc32c(s.data(), s.size()); }

TEST(Crc32cTest, KnownVectors) {
  EXPECT_EQ(Crc("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc(""), 0x00000000u);
  EXPECT_EQ(Crc(std::string(32, '\0')), 0x8A9136AAu);    // RFC 3720 B.4: 32 bytes of zeros
  EXPECT_EQ(Crc(std::string(32, '\xFF')), 0x62A8AB43u);  // 32 bytes of ones
  std::string ascending, descending;
  for (int i = 0; i < 32; ++i) {
    ascending.push_back(static_cast<char>(i));
    descending.push_back(static_cast<char>(31 - i));
  }
  EXPECT_EQ(Crc(ascending), 0x46DD794Eu);
  EXPECT_EQ(Crc(descending), 0x113FDB5Cu);
}

TEST(Crc32cTest, MaskRotatesAndAdds) {
  EXPECT_EQ(MaskCrc32c(0), 0xA282EAD8u);
  EXPECT_EQ(MaskCrc32c(0x00008000u), 0xA282EAD9u);  // bit 15 rotated to bit 0
  EXPECT_EQ(MaskCrc32c(1), 0xA282EAD8u + 0x00020000u);
}

// The little-endian unsigned integer of `n` bytes at s[at].
uint64_t ReadLittleEndian(const std::string& s, size_t at, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}
uint64_t ReadU64(const std::string& s, size_t at) { return ReadLittleEndian(s, at, 8); }
uint32_t ReadU32(const std::string& s, size_t at) { return static_cast<uint32_t>(ReadLittleEndian(s, at, 4)); }

// Splits a stream of TFRecords, checking both CRCs of each; false (with a failure) on any mismatch.
bool ParseRecords(const std::string& bytes, std::vector<std::string>* records) {
  size_t at = 0;
  while (at < bytes.size()) {
    if (bytes.size() - at < 12) {
      ADD_FAILURE() << "truncated header at " << at;
      return false;
    }
    const uint64_t length = ReadU64(bytes, at);
    EXPECT_EQ(ReadU32(bytes, at + 8), MaskCrc32c(Crc32c(bytes.data() + at, 8))) << "length crc at " << at;
    if (bytes.size() - at - 12 < length + 4) {
      ADD_FAILURE() << "truncated record at " << at;
      return false;
    }
    std::string data = bytes.substr(at + 12, length);
    EXPECT_EQ(ReadU32(bytes, at + 12 + length), MaskCrc32c(Crc(data))) << "data crc at " << at;
    records->push_back(std::move(data));
    at += 12 + length + 4;
  }
  return !::testing::Test::HasFailure();
}

TEST(FrameRecordTest, RandomRecordsParseBack) {
  std::mt19937 gen(testing::TestDataSeed());
  std::vector<std::string> written;
  std::string stream;
  for (int i = 0; i < 50; ++i) {
    std::string data(std::uniform_int_distribution<int>(0, 3000)(gen), '\0');
    for (char& c : data) c = static_cast<char>(gen());
    stream += FrameRecord(data);
    written.push_back(data);
  }
  std::vector<std::string> read;
  ASSERT_TRUE(ParseRecords(stream, &read));
  EXPECT_EQ(read, written);
  // A flipped bit in the data is caught by the data CRC.
  std::string broken = FrameRecord("kachi");
  broken[13] ^= 0x04;
  EXPECT_NE(ReadU32(broken, 17), MaskCrc32c(Crc(broken.substr(12, 5))));
}

TEST(EventFileWriterTest, ScalarsReadBackInOrder) {
  const std::string dir = ::testing::TempDir() + "/kachi_tb_" + std::to_string(::getpid()) + "/run";
  std::filesystem::remove_all(dir);
  absl::StatusOr<std::unique_ptr<EventFileWriter>> writer = EventFileWriter::Create(dir);
  ASSERT_TRUE(writer.ok()) << writer.status();
  const std::string name = std::filesystem::path((*writer)->path()).filename().string();
  EXPECT_EQ(name.rfind("events.out.tfevents.", 0), 0u) << name;
  std::mt19937 gen(testing::TestDataSeed());
  std::normal_distribution<double> normal(0.0, 10.0);
  std::vector<std::vector<std::pair<std::string, double>>> steps;
  for (int step = 1; step <= 20; ++step) {
    steps.push_back({{"loss", normal(gen)}, {"lr", std::abs(normal(gen)) * 1e-4}});
    ASSERT_TRUE((*writer)->WriteScalars(step, steps.back()).ok());
  }
  std::ifstream in((*writer)->path(), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> records;
  ASSERT_TRUE(ParseRecords(bytes, &records));
  ASSERT_EQ(records.size(), steps.size() + 1);
  tensorboard::Event first;
  ASSERT_TRUE(first.ParseFromString(records[0]));
  EXPECT_EQ(first.file_version(), "brain.Event:2");
  EXPECT_GT(first.wall_time(), 1.6e9);
  for (size_t i = 0; i < steps.size(); ++i) {
    tensorboard::Event event;
    ASSERT_TRUE(event.ParseFromString(records[i + 1]));
    EXPECT_EQ(event.step(), static_cast<int64_t>(i + 1));
    ASSERT_EQ(event.summary().value_size(), 2);
    for (int v = 0; v < 2; ++v) {
      EXPECT_EQ(event.summary().value(v).tag(), steps[i][v].first);
      EXPECT_EQ(event.summary().value(v).simple_value(), static_cast<float>(steps[i][v].second));  // exact
    }
  }
  std::filesystem::remove_all(std::filesystem::path(dir).parent_path());
}

}  // namespace
}  // namespace kachi
