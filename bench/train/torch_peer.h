// The PyTorch peer of `kachi bench train`: runs bench/train/gpt2_torch.py at kachi's shape and batch in a child
// process, echoes its output, and parses its machine-readable lines ("kachi_torch mode=... key=value ...").
#ifndef KACHI_BENCH_TRAIN_TORCH_PEER_H_
#define KACHI_BENCH_TRAIN_TORCH_PEER_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "bench/train/train_bench_result.h"
#include "runtime/model/gpt_shape.h"

namespace kachi {

// How to run the peer.
struct TorchPeerOptions {
  std::string python;   // interpreter (DefaultTorchPython())
  std::string script;   // gpt2_torch.py (DefaultTorchScript())
  GptShape shape;
  int64_t seq_len = 0;
  int64_t batch = 0;
  int64_t warmup_steps = 0;
  int64_t timed_steps = 0;
  std::vector<std::string> modes = {"eager", "compile"};
  double peak_tflops = 989.0;
  double matmul_tflops = 0;  // 0: not given
  uint64_t seed = 1234;
  int timeout_s = 900;       // the whole script, all modes (coreutils `timeout`)
};

// What the peer did.
struct TorchPeerReport {
  std::vector<TrainBenchResult> results;  // one per mode that ran, in the order run
  std::vector<std::string> errors;        // "MODE: reason" per mode that failed (an OOM, a compile error)
  std::string unavailable;                // not empty: the peer cannot run here (no python, no torch, no GPU) and why
};

// $KACHI_PYTHON when set and not empty, else "python3" (found on PATH).
std::string DefaultTorchPython();
// gpt2_torch.py in the source tree this kachi was built from.
std::string DefaultTorchScript();

// Runs the peer, echoing each of its output lines to `echo` (may be null) prefixed with "# torch| ". A missing
// interpreter, torch or GPU is reported in `unavailable`, and a peer stopped at timeout_s in `errors` beside the
// modes it finished, not as errors. Errors: the script exited with an unexpected code, printed a result it could
// not parse, or measured another shape than asked (batch, seq_len, or FLOPs per token different from
// TrainFlopsPerToken: the two FLOP formulas must agree).
absl::StatusOr<TorchPeerReport> RunTorchPeer(const TorchPeerOptions& options, std::ostream* echo);

// One "kachi_torch mode=MODE key=value ..." line as a result (runner "torch MODE", precision "bf16-autocast").
// InvalidArgument naming the missing or malformed key.
absl::StatusOr<TrainBenchResult> ParseTorchResultLine(absl::string_view line);

// `text` quoted for /bin/sh (single quotes, embedded ones escaped).
std::string ShellQuote(absl::string_view text);

}  // namespace kachi

#endif  // KACHI_BENCH_TRAIN_TORCH_PEER_H_
