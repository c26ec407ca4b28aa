// kachi_bench_comm: the `kachi bench comm` sweep as its own program, for runs and tests that do not need the whole
// CLI. Settings are the bench.comm config fields given as flags (e.g. --min_bytes=1024 --dtypes=fp32,bf16), plus
// --op, --repeats, --backend and --deadline_s; they go through the same config overrides and validation as
// `kachi --set bench.comm.FIELD=VALUE`.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/strip.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bench/comm/bench_world.h"
#include "bench/comm/comm_bench_options.h"
#include "runtime/config/config.h"

namespace {

// Prints usage to stderr and returns exit code 2.
int Usage(const std::string& problem) {
  std::fprintf(stderr,
               "kachi_bench_comm: %s\n"
               "usage: mpirun -np N kachi_bench_comm [--collectives=all_reduce,...] [--dtypes=fp32,...] "
               "[--min_bytes=B] [--max_bytes=B] [--step_factor=F] [--warmup_iters=W] [--iters=I] [--check=true|false] "
               "[--op=sum|avg|max] [--repeats=R] [--backend=mpi|nccl|auto] [--deadline_s=S]\n",
               problem.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> overrides;
  std::string op = "sum";
  int repeats = 15;
  std::string backend = "auto";
  double deadline_s = 300;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg(argv[i]);
    if (!absl::ConsumePrefix(&arg, "--")) return Usage(absl::StrCat("unexpected argument '", arg, "'"));
    const size_t equals = arg.find('=');
    if (equals == absl::string_view::npos) return Usage(absl::StrCat("flag --", arg, " needs =VALUE"));
    const absl::string_view name = arg.substr(0, equals);
    const absl::string_view value = arg.substr(equals + 1);
    if (name == "op") {
      op = std::string(value);
    } else if (name == "repeats") {
      if (!absl::SimpleAtoi(value, &repeats)) return Usage(absl::StrCat("--repeats=", value, " is not an integer"));
    } else if (name == "backend") {
      backend = std::string(value);
    } else if (name == "deadline_s") {
      if (!absl::SimpleAtod(value, &deadline_s)) return Usage(absl::StrCat("--deadline_s=", value, " is not a number"));
    } else if (name == "collectives" || name == "dtypes") {
      overrides.push_back(absl::StrCat("bench.comm.", name, "=[", value, "]"));
    } else {
      overrides.push_back(absl::StrCat("bench.comm.", name, "=", value));
    }
  }
  absl::StatusOr<kachi::config::KachiConfig> config = kachi::BuildConfig("", overrides);
  if (!config.ok()) return Usage(std::string(config.status().message()));
  absl::StatusOr<kachi::CommBenchOptions> options =
      kachi::CommBenchOptionsFromConfig(config->bench().comm(), op, repeats);
  if (!options.ok()) return Usage(std::string(options.status().message()));
  return kachi::RunCommBenchJob(backend, *options, absl::Seconds(deadline_s));
}
