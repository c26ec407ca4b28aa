// The `kachi` binary's command line: --help, missing/unknown subcommands (exit 2), version, and flag errors
// reported before MPI starts.
#include <sys/wait.h>

#include <cstdio>
#include <initializer_list>
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

// Runs `kachi <args>` and expects exit code `exit_code` and every one of `expected` in its output.
void ExpectKachi(const std::string& args, int exit_code, std::initializer_list<const char*> expected) {
  const Result r = RunKachi(args);
  EXPECT_EQ(r.exit_code, exit_code) << "kachi " << args << "\n" << r.output;
  for (const char* text : expected) EXPECT_THAT(r.output, HasSubstr(text)) << "kachi " << args;
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
  ExpectKachi("frobnicate", 2, {"unknown subcommand 'frobnicate'", "usage: kachi"});
}

TEST(CliTest, MissingSubcommandExits2) { ExpectKachi("", 2, {"no subcommand"}); }

TEST(CliTest, VersionPrintsKachiAndLibraryVersions) {
  ExpectKachi("version", 0, {"kachi " KACHI_EXPECTED_VERSION, "mpi:", "protobuf: 3.", "nccl:"});
}

TEST(CliTest, BadOverrideIsReportedWithTheValidFields) {
  ExpectKachi("env --set comm.deadline_s=5 --set comm.nope=1", 1, {"no field 'comm.nope'", "backend, deadline_s"});
}

TEST(CliTest, BadBackendAndMissingConfigAreReported) {
  ExpectKachi("--backend=tcp env", 1, {"expected mpi, nccl or auto"});
  ExpectKachi("env --config /nonexistent/run.pbtxt", 1, {"cannot read config file '/nonexistent/run.pbtxt'"});
}

TEST(CliTest, InvalidValueAfterOverrideIsReported) {
  ExpectKachi("env --set=comm.deadline_s=-1", 1, {"comm.deadline_s is -1"});
}

}  // namespace
