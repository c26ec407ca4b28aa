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
    {"train", "train a GPT over the job's ranks (dp x tp)", TrainCommand},
    {"plan", "the largest layout of a run that fits H hosts of P ranks (elastic restarts)", PlanCommand},
    {"sample", "generate text from trained weights", SampleCommand},
    {"eval", "loss and perplexity of weights over token shards, or their logits", EvalCommand, /*raw_args=*/true},
    {"data", "turn text files into token shards (llm.c format)", DataCommand,
     /*raw_args=*/true},
    {"ckpt", "checkpoint tools: inspect, check, export (safetensors file or Hugging Face directory)", CkptCommand,
     /*raw_args=*/true},
    {"lanes", "lanes competing for the card pool: run them on the job's ranks, print a journal, or simulate",
     LanesCommand, /*raw_args=*/true},
#ifdef KACHI_HAVE_BENCH_COMMAND
    {"bench", "benchmarks beside their peer: collectives, CUDA kernels, training steps, scaling (modeled, "
              "projected)",
     BenchCommand},
#endif
};

// The command-line forms of each subcommand, printed under its summary by --help. Every entry of kSubcommands needs
// at least one form here (tests/launcher/help_test.py fails otherwise); a form of a subcommand this build does not
// dispatch is not printed.
struct UsageForm {
  const char* name;
  const char* form;
};

constexpr UsageForm kUsageForms[] = {
    {"version", "kachi version"},
    {"env", "mpirun -np N kachi env [--backend mpi|nccl|auto]"},
    {"train", "mpirun -np N kachi train CONFIG.pbtxt [--resume] [--timeline FILE] [--set field=value]..."},
    {"train", "  (train.kernels unset: \"cuda\" when every rank has a GPU bound and head size is 64, else \"cpu\";"},
    {"train", "  train.metrics FILE, train.tensorboard_dir DIR: metrics as JSON lines, as TensorBoard event files)"},
    {"plan", "kachi plan CONFIG.pbtxt --hosts H --ranks_per_host P"},
    {"eval", "[mpirun -np K] kachi eval WEIGHTS --data GLOB [--windows N] [--seq_len T] [--batch B] [--logits OUT "
             "[--logits_windows 0,1,...]]"},
    {"eval", "  (loss and perplexity of WEIGHTS: checkpoint directory, safetensors file or HF directory; over all"},
    {"eval", "  windows of the shards or the first N, split across ranks; --logits writes windows' logits)"},
    {"sample", "kachi sample WEIGHTS [--sample_prompt TEXT | --sample_prompt_ids 1,2] [--sample_tokens N] "
               "[--sample_temperature T (0 = greedy)]"},
    {"sample", "  [--sample_top_k K] [--sample_top_p P] [--sample_seed S] [--sample_print_ids] "
               "[--sample_tokenizer TOK]"},
    {"data", "kachi data --out DIR [--val_fraction F] [--shard_tokens N] [--tokenizer TOK [--threads N]] FILE..."},
    {"ckpt", "kachi ckpt inspect DIR           every step directory, manifest and shard (exit 3 when damaged)"},
    {"ckpt", "kachi ckpt check DIR             the same, one line per step"},
    {"ckpt", "kachi ckpt export DIR --safetensors OUT    newest sound step as one safetensors file"},
    {"ckpt", "kachi ckpt export DIR --hf OUTDIR          ... as a Hugging Face directory (config.json + weights)"},
    {"lanes", "mpirun -np N kachi lanes LANES.pbtxt [--resume] [--dir DIR] [--chunk STEPS] [--set field=value]..."},
    {"lanes", "kachi lanes --journal DIR        print a lanes run's journal"},
    {"lanes", "kachi lanes --simulate [LANES.pbtxt] [--set field=value]... [--lanes_report PATH]"},
    {"bench", "mpirun -np N kachi bench comm [all_reduce|reduce_scatter|all_gather|broadcast ...] [--bench_op OP]"},
    {"bench", "kachi bench kernels [memory|matmul|attention ...]   (CUDA build, one GPU)"},
    {"bench", "kachi bench train [--set model.preset=gpt2_124m] [--bench_steps N] [--bench_torch=false] "
              "[--bench_profile]"},
    {"bench", "mpirun -np N kachi bench scaling [--bench_scaling='FIELD: VALUE ...'] [--bench_cluster FILE] "
              "[--timeline FILE]"},
};

// The --help text: synopsis, each subcommand with its summary and forms, common flags (help strings and defaults
// from the flags themselves).
std::string UsageText() {
  std::string text =
      "usage: kachi [flags] <subcommand> [args]\n"
      "       mpirun -np N kachi [flags] <subcommand> [args]   (or srun --mpi=pmix -n N kachi ...)\n\n"
      "subcommands:\n";
  for (const auto& sub : kSubcommands) {
    absl::StrAppend(&text, absl::StrFormat("  %-9s %s\n", sub.name, sub.summary));
    for (const auto& usage : kUsageForms) {
      if (absl::string_view(usage.name) == sub.name) absl::StrAppend(&text, "      ", usage.form, "\n");
    }
  }
  absl::StrAppend(&text, "\ncommon flags:\n");
  for (const char* name : kCommonFlagNames) {
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr) continue;
    const std::string default_value = flag->DefaultValue();
    absl::StrAppend(&text, absl::StrFormat("  --%-9s %s%s\n", name, flag->Help(),
                                           default_value.empty() ? "" : " (default: " + default_value + ")"));
  }
  absl::StrAppend(&text, "\n`kachi <subcommand>` with wrong arguments prints its own usage; --helpfull lists every "
                         "flag, including abseil's.\n");
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
