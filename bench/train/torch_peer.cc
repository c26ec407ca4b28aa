// The PyTorch peer in a child process (see torch_peer.h).
#include "bench/train/torch_peer.h"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "bench/train/train_flops.h"
#include "kernels/base/status_macros.h"

#ifndef KACHI_SOURCE_DIR
#error "KACHI_SOURCE_DIR must name the source tree (set by bench/train/CMakeLists.txt)"
#endif

namespace kachi {
namespace {

constexpr absl::string_view kResultPrefix = "kachi_torch ";
constexpr absl::string_view kUnavailablePrefix = "kachi_torch_unavailable reason=";
constexpr absl::string_view kErrorPrefix = "kachi_torch_error mode=";
// The script's exit code for "cannot run here" (gpt2_torch.py's docstring); coreutils timeout's codes.
constexpr int kExitUnavailable = 3;
constexpr int kExitTimedOut = 124;
constexpr int kExitNotExecutable = 126;
constexpr int kExitNotFound = 127;

// The shell command line that runs the script with `options`, stderr joined to stdout.
std::string PeerCommand(const TorchPeerOptions& options) {
  const GptShape& s = options.shape;
  return absl::StrCat("timeout ", options.timeout_s, " ", ShellQuote(options.python), " -u ",
                      ShellQuote(options.script), " --layers ", s.layers, " --heads ", s.heads, " --width ", s.width,
                      " --vocab ", s.vocab_size, " --padded-vocab ", s.padded_vocab, " --context ", s.context,
                      " --seq-len ", options.seq_len, " --batch ", options.batch, " --warmup ", options.warmup_steps,
                      " --steps ", options.timed_steps, " --modes ", ShellQuote(absl::StrJoin(options.modes, ",")),
                      " --peak-tflops ", options.peak_tflops, " --matmul-tflops ", options.matmul_tflops, " --seed ",
                      options.seed, " 2>&1");
}

// The parsed result must describe the run that was asked for.
absl::Status CheckSameShape(const TrainBenchResult& result, const TorchPeerOptions& options) {
  const int64_t flops = TrainFlopsPerToken(options.shape, options.seq_len);
  if (result.batch != options.batch || result.seq_len != options.seq_len || result.flops_per_token != flops) {
    return absl::InternalError(absl::StrCat(
        result.runner, " measured batch ", result.batch, " x ", result.seq_len, " tokens at ", result.flops_per_token,
        " FLOPs/token; asked for ", options.batch, " x ", options.seq_len, " at ", flops,
        " (bench/train/train_flops.cc and gpt2_torch.py must count alike)"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string DefaultTorchPython() {
  const char* python = std::getenv("KACHI_PYTHON");
  return python != nullptr && *python != '\0' ? python : "python3";
}

std::string DefaultTorchScript() { return absl::StrCat(KACHI_SOURCE_DIR, "/bench/train/gpt2_torch.py"); }

std::string ShellQuote(absl::string_view text) {
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

absl::StatusOr<TrainBenchResult> ParseTorchResultLine(absl::string_view line) {
  if (!absl::ConsumePrefix(&line, kResultPrefix)) {
    return absl::InvalidArgumentError(absl::StrCat("torch result line '", line, "' does not start with 'kachi_torch '"));
  }
  std::map<std::string, std::string, std::less<>> fields;
  for (absl::string_view item : absl::StrSplit(line, ' ', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(item, absl::MaxSplits('=', 1));
    fields[kv.first] = kv.second;
  }
  auto text = [&](absl::string_view key) -> absl::StatusOr<std::string> {
    auto it = fields.find(key);
    if (it == fields.end() || it->second.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("torch result line has no '", key, "=': ", line));
    }
    return it->second;
  };
  auto number = [&](absl::string_view key, double* out) -> absl::Status {
    KACHI_ASSIGN_OR_RETURN(std::string value, text(key));
    if (!absl::SimpleAtod(value, out)) {
      return absl::InvalidArgumentError(absl::StrCat("torch result ", key, "='", value, "' is not a number"));
    }
    return absl::OkStatus();
  };
  auto integer = [&](absl::string_view key, int64_t* out) -> absl::Status {
    KACHI_ASSIGN_OR_RETURN(std::string value, text(key));
    if (!absl::SimpleAtoi(value, out)) {
      return absl::InvalidArgumentError(absl::StrCat("torch result ", key, "='", value, "' is not an integer"));
    }
    return absl::OkStatus();
  };
  TrainBenchResult result;
  KACHI_ASSIGN_OR_RETURN(std::string mode, text("mode"));
  result.runner = absl::StrCat("torch ", mode);
  result.precision = "bf16-autocast";
  for (absl::Status st : {integer("batch", &result.batch), integer("seq_len", &result.seq_len),
                          integer("steps", &result.timed_steps), number("ms_per_step", &result.ms_per_step),
                          number("tokens_per_s", &result.tokens_per_s),
                          integer("flops_per_token", &result.flops_per_token), number("mfu_peak", &result.mfu_peak),
                          number("mfu_ceiling", &result.mfu_ceiling),
                          integer("peak_mem_bytes", &result.peak_memory_bytes),
                          number("first_loss", &result.first_loss), number("last_loss", &result.last_loss)}) {
    KACHI_RETURN_IF_ERROR(st);
  }
  if (result.ms_per_step <= 0 || result.tokens_per_s <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("torch result with a non-positive time or rate: ", line));
  }
  return result;
}

absl::StatusOr<TorchPeerReport> RunTorchPeer(const TorchPeerOptions& options, std::ostream* echo) {
  const std::string command = PeerCommand(options);
  if (echo != nullptr) *echo << "# torch| $ " << command << "\n" << std::flush;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return absl::InternalError(absl::StrCat("cannot start the torch peer: ", command));
  TorchPeerReport report;
  absl::Status parse_error;
  std::string line;
  std::vector<std::string> tail;  // the last lines, for an error message
  char buffer[4096];
  while (std::fgets(buffer, sizeof(buffer), pipe) != nullptr) {
    line += buffer;
    if (line.empty() || line.back() != '\n') continue;  // a long line arrives in pieces
    line.pop_back();
    if (echo != nullptr) *echo << "# torch| " << line << "\n" << std::flush;
    absl::string_view view = line;
    if (absl::StartsWith(view, kResultPrefix)) {
      absl::StatusOr<TrainBenchResult> result = ParseTorchResultLine(view);
      if (result.ok()) {
        if (absl::Status same = CheckSameShape(*result, options); !same.ok()) result = same;
      }
      if (result.ok()) {
        report.results.push_back(*result);
      } else if (parse_error.ok()) {
        parse_error = result.status();
      }
    } else if (absl::ConsumePrefix(&view, kUnavailablePrefix)) {
      report.unavailable = std::string(view);
    } else if (absl::ConsumePrefix(&view, kErrorPrefix)) {
      std::pair<std::string, std::string> mode_reason = absl::StrSplit(view, absl::MaxSplits(" reason=", 1));
      report.errors.push_back(absl::StrCat(mode_reason.first, ": ", mode_reason.second));
    }
    tail.push_back(line);
    if (tail.size() > 5) tail.erase(tail.begin());
    line.clear();
  }
  const int status = pclose(pipe);
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  KACHI_RETURN_IF_ERROR(parse_error);
  if (code == kExitNotFound || code == kExitNotExecutable) {
    report.unavailable = absl::StrCat("cannot run '", options.python, "' (exit ", code,
                                      "; set KACHI_PYTHON to a python with torch)");
    return report;
  }
  if (code == kExitUnavailable) {
    if (report.unavailable.empty()) report.unavailable = absl::StrCat(options.script, " exited 3 (peer unavailable)");
    return report;
  }
  if (code == kExitTimedOut) {  // the modes that finished still count
    report.errors.push_back(absl::StrCat("the peer ran past ", options.timeout_s,
                                         " s and was stopped (modes without a result line did not finish)"));
    return report;
  }
  if (code != 0 && !(code == 1 && !report.errors.empty())) {
    return absl::InternalError(absl::StrCat("the torch peer exited ", code, "; last lines: ",
                                            absl::StrJoin(tail, " | ")));
  }
  return report;
}

}  // namespace kachi
