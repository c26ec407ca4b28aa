// Config loading (errors with file:line:column), --set overrides by reflection, validation, and every shipped
// configs/*.pbtxt.
#include <filesystem>
#include <fstream>
#include <random>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/config/config.h"
#include "runtime/config/overrides.h"

namespace kachi {
namespace {

using ::testing::HasSubstr;

std::string Message(const absl::Status& status) { return std::string(status.message()); }

// Protobuf's parser reports the column where it stopped: just past the offending name or value.
TEST(ParseConfigTest, UnknownFieldReportsLineColumnAndValidFields) {
  auto config = ParseConfigText("comm {\n  backend: MPI\n  deadline: 5\n}\n", "my.pbtxt");
  ASSERT_FALSE(config.ok());
  const std::string message = Message(config.status());
  EXPECT_THAT(message, HasSubstr("my.pbtxt:3:11:"));
  EXPECT_THAT(message, HasSubstr("deadline"));
  EXPECT_THAT(message, HasSubstr("valid fields of kachi.config.CommConfig: backend, deadline_s"));
}

TEST(ParseConfigTest, BadValueReportsItsPosition) {
  auto config = ParseConfigText("comm { deadline_s: fast }", "x.pbtxt");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(Message(config.status()), HasSubstr("x.pbtxt:1:20:"));
  auto bad_enum = ParseConfigText("\n\ncomm { backend: TCP }", "y.pbtxt");
  ASSERT_FALSE(bad_enum.ok());
  EXPECT_THAT(Message(bad_enum.status()), HasSubstr("y.pbtxt:3:21:"));
}

TEST(ParseConfigTest, ParsesSectionsAndDefaults) {
  auto config = ParseConfigText("launcher { allow_device_sharing: true }", "z.pbtxt");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->launcher().allow_device_sharing());
  EXPECT_EQ(config->comm().deadline_s(), 300) << "schema default";
  EXPECT_EQ(config->comm().backend(), config::CommConfig::AUTO);
}

TEST(LoadConfigTest, MissingFileIsNotFound) {
  auto config = LoadConfig("/nonexistent/kachi.pbtxt");
  ASSERT_TRUE(absl::IsNotFound(config.status())) << config.status();
  EXPECT_THAT(Message(config.status()), HasSubstr("/nonexistent/kachi.pbtxt"));
}

TEST(LoadConfigTest, EveryShippedConfigLoadsAndValidates) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(KACHI_SOURCE_DIR "/configs")) {
    if (entry.path().extension() != ".pbtxt") continue;
    // Lanes files are kachi.lanes.LanesFile messages (runtime/proto/lanes.proto), checked by lanes_file_test.
    if (entry.path().filename().string().rfind("lanes_", 0) == 0) continue;
    // Cluster files are kachi.config.ClusterSpec messages (runtime/proto/scaling.proto), loaded by
    // scaling_cli_np4 through `kachi bench scaling --bench_cluster`.
    if (entry.path().filename().string().rfind("cluster_", 0) == 0) continue;
    ++count;
    auto config = LoadConfig(entry.path().string());
    ASSERT_TRUE(config.ok()) << config.status();
    EXPECT_TRUE(ValidateConfig(*config).ok()) << entry.path() << ": " << ValidateConfig(*config);
  }
  EXPECT_GE(count, 1) << "configs/ should ship at least one example";
}

TEST(OverrideTest, ScalarsEnumsAndNestedFields) {
  std::mt19937_64 gen(2024);
  // Milliseconds, so the decimal text round-trips exactly.
  const double deadline = std::uniform_int_distribution<int>(500, 900000)(gen) / 1000.0;
  const uint64_t max_bytes = std::uniform_int_distribution<uint64_t>(1 << 20, uint64_t{1} << 34)(gen);
  config::KachiConfig config;
  ASSERT_TRUE(ApplyOverrides({absl::StrCat("comm.deadline_s=", deadline), "comm.backend=nccl",
                              "launcher.allow_device_sharing=true",
                              absl::StrCat("bench.comm.max_bytes=", max_bytes), "bench.comm.check=0"},
                             &config)
                  .ok());
  EXPECT_DOUBLE_EQ(config.comm().deadline_s(), deadline);
  EXPECT_EQ(config.comm().backend(), config::CommConfig::NCCL);
  EXPECT_TRUE(config.launcher().allow_device_sharing());
  EXPECT_EQ(config.bench().comm().max_bytes(), max_bytes);
  EXPECT_FALSE(config.bench().comm().check());
  ASSERT_TRUE(ApplyOverride("comm.backend=1", &config).ok()) << "enum by number";
  EXPECT_EQ(config.comm().backend(), config::CommConfig::MPI);
}

TEST(OverrideTest, RepeatedFieldsAppendOrReplace) {
  config::KachiConfig config;
  ASSERT_TRUE(ApplyOverride("bench.comm.dtypes=fp32", &config).ok());
  ASSERT_TRUE(ApplyOverride("bench.comm.dtypes=bf16", &config).ok());
  ASSERT_EQ(config.bench().comm().dtypes_size(), 2);
  EXPECT_EQ(config.bench().comm().dtypes(1), "bf16");
  ASSERT_TRUE(ApplyOverride("bench.comm.dtypes=[fp16, int32 ,int64]", &config).ok());
  ASSERT_EQ(config.bench().comm().dtypes_size(), 3);
  EXPECT_EQ(config.bench().comm().dtypes(0), "fp16");
  EXPECT_EQ(config.bench().comm().dtypes(1), "int32");
  ASSERT_TRUE(ApplyOverride("bench.comm.dtypes=[]", &config).ok());
  EXPECT_EQ(config.bench().comm().dtypes_size(), 0);
}

TEST(OverrideTest, UnknownFieldListsTheValidOnes) {
  config::KachiConfig config;
  auto status = ApplyOverride("comm.deadline=5", &config);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(Message(status), HasSubstr("no field 'comm.deadline'"));
  EXPECT_THAT(Message(status), HasSubstr("backend, deadline_s"));
  auto top = ApplyOverride("com.deadline_s=5", &config);
  ASSERT_FALSE(top.ok());
  EXPECT_THAT(Message(top), HasSubstr("comm, launcher, bench"));
}

TEST(OverrideTest, BadValuesSayWhatWasExpected) {
  config::KachiConfig config;
  EXPECT_THAT(Message(ApplyOverride("comm.deadline_s=soon", &config)), HasSubstr("is not a number"));
  EXPECT_THAT(Message(ApplyOverride("bench.comm.iters=-3", &config)), HasSubstr("non-negative 32-bit integer"));
  EXPECT_THAT(Message(ApplyOverride("comm.backend=tcp", &config)), HasSubstr("one of AUTO, MPI, NCCL"));
  EXPECT_THAT(Message(ApplyOverride("launcher.allow_device_sharing=maybe", &config)), HasSubstr("a bool"));
  EXPECT_THAT(Message(ApplyOverride("comm=5", &config)), HasSubstr("is a section"));
  EXPECT_THAT(Message(ApplyOverride("comm.deadline_s.x=5", &config)), HasSubstr("is a value, not a section"));
  EXPECT_THAT(Message(ApplyOverride("comm.deadline_s", &config)), HasSubstr("has no '='"));
  EXPECT_EQ(config.comm().deadline_s(), 300) << "failed overrides leave the config unchanged";
}

TEST(ValidateConfigTest, RejectsBadValues) {
  config::KachiConfig config;
  EXPECT_TRUE(ValidateConfig(config).ok());
  for (const char* deadline : {"0", "-2.5", "inf", "nan"}) {
    config::KachiConfig bad;
    ASSERT_TRUE(ApplyOverride(absl::StrCat("comm.deadline_s=", deadline), &bad).ok());
    auto status = ValidateConfig(bad);
    ASSERT_FALSE(status.ok()) << deadline;
    EXPECT_THAT(Message(status), HasSubstr("comm.deadline_s")) << deadline;
  }
  config::KachiConfig sizes;
  sizes.mutable_bench()->mutable_comm()->set_min_bytes(4096);
  sizes.mutable_bench()->mutable_comm()->set_max_bytes(1024);
  EXPECT_THAT(Message(ValidateConfig(sizes)), HasSubstr("min_bytes (4096) is larger than"));
  config::KachiConfig dtype;
  dtype.mutable_bench()->mutable_comm()->add_dtypes("fp8");
  EXPECT_THAT(Message(ValidateConfig(dtype)), HasSubstr("fp8"));
  config::KachiConfig collective;
  collective.mutable_bench()->mutable_comm()->add_collectives("all_to_all");
  EXPECT_THAT(Message(ValidateConfig(collective)), HasSubstr("unknown collective 'all_to_all'"));
}

TEST(BuildConfigTest, FileThenOverridesThenValidation) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            absl::StrCat("kachi_build_config_", getpid(), ".pbtxt")).string();
  std::ofstream(path) << "comm { deadline_s: 17 backend: NCCL }\n";
  auto config = BuildConfig(path, {"comm.backend=mpi"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->comm().deadline_s(), 17);
  EXPECT_EQ(config->comm().backend(), config::CommConfig::MPI);
  auto invalid = BuildConfig(path, {"comm.deadline_s=0"});
  ASSERT_FALSE(invalid.ok());
  EXPECT_THAT(Message(invalid.status()), HasSubstr(path));
  EXPECT_THAT(Message(invalid.status()), HasSubstr("comm.deadline_s is 0"));
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace kachi
