// The `kachi` binary's command line: --help, missing/unknown subcommands (exit 2), version, and flag errors
// reported before MPI starts.
#include <sys/wait.h>

#include <cstdio>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace {

using ::testing::HasSubstr;

// Exit code and combined stdout+stderr of `kachi <args>`.
struct Result {
  int exit_code = -1;
  std::string output;
};

Result RunKachi(const std::string& args) {
  Result result;
  const std::string command = std::string(KACHI_BINARY) + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.output.append(buffer, n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

TEST(CliTest, HelpListsSubcommandsAndCommonFlags) {
  for (const char* flag : {"--help", "-h", "help"}) {
    Result r = RunKachi(flag);
    EXPECT_EQ(r.exit_code, 0) << flag << "\n" << r.output;
    for (const char* expected : {"usage: kachi", "version", "env", "--config", "--set", "--backend"}) {
      EXPECT_THAT(r.output, HasSubstr(expected)) << flag;
    }
  }
}

TEST(CliTest, UnknownSubcommandPrintsUsageAndExits2) {
  Result r = RunKachi("frobnicate");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("unknown subcommand 'frobnicate'"));
  EXPECT_THAT(r.output, HasSubstr("usage: kachi"));
}

TEST(CliTest, MissingSubcommandExits2) {
  Result r = RunKachi("");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("no subcommand"));
}

TEST(CliTest, VersionPrintsKachiAndLibraryVersions) {
  Result r = RunKachi("version");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("kachi " KACHI_EXPECTED_VERSION));
  EXPECT_THAT(r.output, HasSubstr("mpi:"));
  EXPECT_THAT(r.output, HasSubstr("protobuf: 3."));
  EXPECT_THAT(r.output, HasSubstr("nccl:"));
}

TEST(CliTest, BadOverrideIsReportedWithTheValidFields) {
  Result r = RunKachi("env --set comm.deadline_s=5 --set comm.nope=1");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("no field 'comm.nope'"));
  EXPECT_THAT(r.output, HasSubstr("backend, deadline_s"));
}

TEST(CliTest, BadBackendAndMissingConfigAreReported) {
  Result backend = RunKachi("--backend=tcp env");
  EXPECT_EQ(backend.exit_code, 1) << backend.output;
  EXPECT_THAT(backend.output, HasSubstr("expected mpi, nccl or auto"));
  Result config = RunKachi("env --config /nonexistent/run.pbtxt");
  EXPECT_EQ(config.exit_code, 1) << config.output;
  EXPECT_THAT(config.output, HasSubstr("cannot read config file '/nonexistent/run.pbtxt'"));
}

TEST(CliTest, InvalidValueAfterOverrideIsReported) {
  Result r = RunKachi("env --set=comm.deadline_s=-1");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("comm.deadline_s is -1"));
}

}  // namespace
