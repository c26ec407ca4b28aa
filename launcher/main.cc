// kachi: the one binary. `kachi [flags] <subcommand> [args]` dispatches to the entry points of
// launcher/commands.h after the common flags (launcher/flags.h) are parsed. `kachi --help` lists subcommands and
// common flags; an unknown or missing subcommand prints that list and exits 2.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "launcher/commands.h"
#include "launcher/flags.h"

namespace kachi {
namespace {

// Exit code for command-line mistakes (unknown subcommand, missing subcommand).
constexpr int kUsageExitCode = 2;
// Exit code when an exception escapes a subcommand (a bug or an allocation beyond what the bounds foresaw): one
// "kachi: internal error: ..." line on stderr (EX_SOFTWARE of sysexits.h; README "Failures").
constexpr int kInternalErrorExitCode = 70;

// std::terminate (an exception escaping another thread, or thrown during unwinding): the same one line and code.
[[noreturn]] void OnTerminate() {
  const char* what = "unknown exception";
  if (std::exception_ptr current = std::current_exception()) {
    try {
      std::rethrow_exception(current);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "kachi: internal error: %s\n", e.what());
      std::fflush(stderr);
      std::_Exit(kInternalErrorExitCode);
    } catch (...) {
    }
  } else {
    what = "std::terminate called without an exception";
  }
  std::fprintf(stderr, "kachi: internal error: %s\n", what);
  std::fflush(stderr);
  std::_Exit(kInternalErrorExitCode);
}

// One subcommand: its name, a one-line summary for --help, its entry point, and whether it parses its own
// arguments (raw_args: everything after its name reaches it unparsed, e.g. `kachi data --out DIR FILE...`).
struct Subcommand {
  const char* name;
  const char* summary;
  int (*run)(const std::vector<std::string>& args);
  bool raw_args = false;
};

constexpr Subcommand kSubcommands[] = {
    {"version", "print kachi's version and the CUDA/NCCL/MPI/protobuf/abseil versions it was built with",
     VersionCommand},
    {"env", "start every rank and print rank, world, local rank, node, device, backend and source per rank",
     EnvCommand},
    {"train", "train a GPT over the job's ranks (dp x tp): `kachi train CONFIG.pbtxt`", TrainCommand},
    {"plan", "the largest layout of a run that fits H hosts of P ranks: `kachi plan CONFIG --hosts H "
             "--ranks_per_host P` (elastic restarts)", PlanCommand},
    {"sample", "generate text from weights saved by train: `kachi sample WEIGHTS.safetensors`", SampleCommand},
    {"eval", "loss and perplexity of weights over token shards: `kachi eval WEIGHTS --data GLOB [--windows N] [--logits OUT]`", EvalCommand, /*raw_args=*/true},
    {"data", "turn text files into byte-level token shards: `kachi data --out DIR FILE...`", DataCommand,
     /*raw_args=*/true},
    {"ckpt", "checkpoint tools: `kachi ckpt inspect DIR`, `kachi ckpt check DIR`, `kachi ckpt export DIR --safetensors OUT`, `kachi ckpt export DIR --hf OUTDIR`", CkptCommand,
     /*raw_args=*/true},
    {"lanes", "lanes competing for the card pool: `kachi lanes --simulate [LANES.pbtxt] [--set field=value]`",
     LanesCommand, /*raw_args=*/true},
#ifdef KACHI_HAVE_BENCH_COMMAND
    {"bench", "benchmarks beside their peer: `kachi bench comm` (collectives), `kachi bench kernels` (CUDA kernels), "
              "`kachi bench train`, `kachi bench scaling` (1, 2, 4, ... ranks, modeled and projected)",
     BenchCommand},
#endif
};

// The --help text: synopsis, subcommands, common flags (help strings and defaults from the flags themselves).
std::string UsageText() {
  std::string text =
      "usage: kachi [flags] <subcommand> [args]\n"
      "       mpirun -np N kachi [flags] <subcommand> [args]   (or srun --mpi=pmix -n N kachi ...)\n\n"
      "subcommands:\n";
  for (const auto& sub : kSubcommands) absl::StrAppend(&text, absl::StrFormat("  %-9s %s\n", sub.name, sub.summary));
  absl::StrAppend(&text, "\ncommon flags:\n");
  for (const char* name : kCommonFlagNames) {
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr) continue;
    const std::string default_value = flag->DefaultValue();
    absl::StrAppend(&text, absl::StrFormat("  --%-9s %s%s\n", name, flag->Help(),
                                           default_value.empty() ? "" : " (default: " + default_value + ")"));
  }
  absl::StrAppend(&text, "\n--helpfull lists every flag, including abseil's.\n");
  return text;
}

// True when the command line asks for help (before any "--"): --help, -help, -h, or the subcommand "help".
bool WantsHelp(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg(argv[i]);
    if (arg == "--") return false;
    if (arg == "--help" || arg == "-help" || arg == "-h" || arg == "help") return true;
  }
  return false;
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage("kachi [flags] <subcommand> [args]; run `kachi --help` for subcommands");
  if (WantsHelp(argc, argv)) {
    std::fputs(UsageText().c_str(), stdout);
    return 0;
  }
  CollectSetFlags(&argc, argv);
  // A subcommand that parses its own arguments: absl parses only what precedes its name.
  for (int i = 1; i < argc; ++i) {
    for (const auto& sub : kSubcommands) {
      if (!sub.raw_args || absl::string_view(argv[i]) != sub.name) continue;
      absl::ParseCommandLine(i, argv);
      return sub.run(std::vector<std::string>(argv + i + 1, argv + argc));
    }
  }
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() < 2) {
    std::fprintf(stderr, "kachi: no subcommand given\n\n%s", UsageText().c_str());
    return kUsageExitCode;
  }
  const absl::string_view name = positional[1];
  for (const auto& sub : kSubcommands) {
    if (name == sub.name) return sub.run(std::vector<std::string>(positional.begin() + 2, positional.end()));
  }
  std::fprintf(stderr, "kachi: unknown subcommand '%s'\n\n%s", positional[1], UsageText().c_str());
  return kUsageExitCode;
}

}  // namespace
}  // namespace kachi

// One top-level handler: no exception reaches the C++ runtime (which would abort with a core dump).
int main(int argc, char** argv) {
  std::set_terminate(kachi::OnTerminate);
  try {
    return kachi::Main(argc, argv);
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "kachi: internal error: out of memory (std::bad_alloc): the run needs more memory than this "
                         "host can give\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kachi: internal error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "kachi: internal error: unknown exception\n");
  }
  return kachi::kInternalErrorExitCode;
}
