// `kachi eval WEIGHTS --data GLOB [--windows N] [--seq_len T] [--batch B] [--logits OUT [--logits_windows LIST]]`:
// the mean
// token loss and perplexity of given weights (HF directory, safetensors file or kachi checkpoint directory, see
// cmd_eval_weights.h) over the first N windows of a token stream (all windows when N is not given). Windows are
// those of training's validation (stride T, T + 1 tokens each), cut into batches of B consecutive windows (the last
// may be shorter) that are split into contiguous ranges across the job's ranks (of M batches, rank r takes
// [M*r/K, M*(r+1)/K)); every batch's loss sum is all-reduced into its own slot (the other ranks add exact zeros) and
// rank 0 sums them in batch order, so any rank count gives the same bits as one rank for the same B.
// --logits writes the logits of the given windows (default: the first) from rank 0 as safetensors:
// "logits" f32 [W, T, vocab_size], "inputs" and "targets" i64 [W, T], "windows" i64 [W].
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "kernels/base/status_macros.h"
#include "launcher/bootstrap.h"
#include "launcher/cmd_eval_weights.h"
#include "launcher/commands.h"
#include "runtime/data/token_batch.h"
#include "runtime/data/token_stream.h"
#include "runtime/io/safetensors.h"

namespace kachi {
namespace {

constexpr char kUsage[] =
    "usage: [mpirun -np K] kachi eval WEIGHTS --data GLOB [--windows N] [--seq_len T] [--batch B] "
    "[--logits OUT.safetensors "
    "[--logits_windows 0,1,...]]";

// The command line of `kachi eval`.
struct EvalArgs {
  std::string weights;
  std::string data;
  int64_t windows = 0;  // 0 = all
  int64_t seq_len = 0;  // 0 = the model's context
  int64_t batch = 8;    // windows per forward pass
  std::string logits;
  std::vector<int64_t> logits_windows{0};
};

// Parses the arguments after `eval`; errors are one line.
absl::StatusOr<EvalArgs> ParseEvalArgs(const std::vector<std::string>& args) {
  EvalArgs out;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i];
    std::string value;
    const bool is_flag = name.rfind("--", 0) == 0;
    if (is_flag) {
      if (size_t eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return absl::InvalidArgumentError(absl::StrCat(name, " needs a value"));
      }
    }
    auto integer = [&](int64_t* dst, int64_t min) -> absl::Status {
      if (!absl::SimpleAtoi(value, dst) || *dst < min) {
        return absl::InvalidArgumentError(absl::StrCat(name, " = '", value, "' must be an integer >= ", min));
      }
      return absl::OkStatus();
    };
    if (!is_flag) {
      if (!out.weights.empty()) return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", name, "'"));
      out.weights = name;
    } else if (name == "--data") {
      out.data = value;
    } else if (name == "--windows") {
      KACHI_RETURN_IF_ERROR(integer(&out.windows, 1));
    } else if (name == "--seq_len") {
      KACHI_RETURN_IF_ERROR(integer(&out.seq_len, 1));
    } else if (name == "--batch") {
      KACHI_RETURN_IF_ERROR(integer(&out.batch, 1));
    } else if (name == "--logits") {
      out.logits = value;
    } else if (name == "--logits_windows") {
      out.logits_windows.clear();
      for (absl::string_view part : absl::StrSplit(value, ',')) {
        int64_t w;
        if (!absl::SimpleAtoi(part, &w) || w < 0) {
          return absl::InvalidArgumentError(absl::StrCat("--logits_windows: '", part, "' is not a window index"));
        }
        out.logits_windows.push_back(w);
      }
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag ", name));
    }
  }
  if (out.weights.empty()) return absl::InvalidArgumentError("no WEIGHTS given");
  if (out.data.empty()) return absl::InvalidArgumentError("--data GLOB is required (token shards)");
  return out;
}

// The loss of one window; its logits [T, vocab_size] are appended to `logits`, its inputs and targets to `rows`.
absl::StatusOr<float> WindowLoss(GptModel& model, const TokenStream& stream, int64_t window, int64_t seq_len,
                                 std::vector<float>* logits, TokenBatch* rows) {
  TokenBatch batch;
  stream.AppendWindow(window, seq_len, batch);
  KACHI_ASSIGN_OR_RETURN(float loss, model.Loss(batch.inputs.data(), batch.targets.data(), 1, seq_len));
  KACHI_ASSIGN_OR_RETURN(std::vector<float> local, model.LocalLogits());
  const int64_t padded = model.shape().padded_vocab;
  const int64_t vocab = model.shape().vocab_size;
  for (int64_t t = 0; t < seq_len; ++t) {
    logits->insert(logits->end(), local.begin() + t * padded, local.begin() + t * padded + vocab);
  }
  rows->inputs.insert(rows->inputs.end(), batch.inputs.begin(), batch.inputs.end());
  rows->targets.insert(rows->targets.end(), batch.targets.begin(), batch.targets.end());
  return loss;
}

// Rank 0: the logits of `args.logits_windows` written to `args.logits`.
absl::Status WriteLogits(GptModel& model, const TokenStream& stream, const EvalArgs& args, int64_t seq_len,
                         int64_t available) {
  std::vector<float> logits;
  TokenBatch rows;
  double total = 0;
  for (int64_t w : args.logits_windows) {
    if (w >= available) {
      return absl::InvalidArgumentError(
          absl::StrCat("--logits_windows: window ", w, " is past the data's ", available, " windows"));
    }
    KACHI_ASSIGN_OR_RETURN(float loss, WindowLoss(model, stream, w, seq_len, &logits, &rows));
    total += loss;
  }
  const int64_t count = static_cast<int64_t>(args.logits_windows.size());
  SafetensorsFile file;
  auto widen = [](const std::vector<int32_t>& v) { return std::vector<int64_t>(v.begin(), v.end()); };
  KACHI_RETURN_IF_ERROR(file.AddFloats("logits", {count, seq_len, model.shape().vocab_size}, logits));
  KACHI_RETURN_IF_ERROR(file.AddInts("inputs", {count, seq_len}, widen(rows.inputs)));
  KACHI_RETURN_IF_ERROR(file.AddInts("targets", {count, seq_len}, widen(rows.targets)));
  KACHI_RETURN_IF_ERROR(file.AddInts("windows", {count}, args.logits_windows));
  file.mutable_metadata()["kachi.eval_loss"] = absl::StrFormat("%.9g", total / count);
  file.mutable_metadata()["kachi.seq_len"] = absl::StrCat(seq_len);
  return WriteSafetensors(args.logits, file);
}

// The evaluation on every rank; rank 0 prints the result line.
absl::Status Eval(const EvalArgs& args, Communicator& world, int rank, int size) {
  KACHI_ASSIGN_OR_RETURN(std::unique_ptr<GptModel> model, LoadInferenceModel(args.weights));
  const GptShape& shape = model->shape();
  const int64_t seq_len = args.seq_len > 0 ? args.seq_len : shape.context;
  if (seq_len > shape.context) {
    return absl::InvalidArgumentError(absl::StrCat("--seq_len ", seq_len, " exceeds the model's context ",
                                                   shape.context));
  }
  KACHI_ASSIGN_OR_RETURN(TokenStream stream, TokenStream::Open(args.data, static_cast<int>(shape.vocab_size)));
  const int64_t available = stream.NumWindows(seq_len);
  if (available == 0) {
    return absl::FailedPreconditionError(absl::StrCat(args.data, ": no window to evaluate (", stream.num_tokens(),
                                                      " tokens; a window needs seq_len + 1 = ", seq_len + 1, ")"));
  }
  const int64_t n = args.windows > 0 ? args.windows : available;
  if (n > available) {
    return absl::InvalidArgumentError(absl::StrCat("--windows ", n, " but ", args.data, " holds ", available,
                                                   " windows of ", seq_len, " tokens"));
  }
  const int64_t batches = (n + args.batch - 1) / args.batch;
  std::vector<float> losses(static_cast<size_t>(batches), 0.0f);  // per batch: mean loss x windows
  for (int64_t j = batches * rank / size; j < batches * (rank + 1) / size; ++j) {
    TokenBatch batch;
    for (int64_t w = j * args.batch; w < std::min(n, (j + 1) * args.batch); ++w) {
      stream.AppendWindow(w, seq_len, batch);
    }
    KACHI_ASSIGN_OR_RETURN(float loss,
                           model->Loss(batch.inputs.data(), batch.targets.data(), batch.batch_size, seq_len));
    losses[j] = loss * static_cast<float>(batch.batch_size);
  }
  if (size > 1) {
    KACHI_RETURN_IF_ERROR(
        world.AllReduce(losses.data(), losses.data(), losses.size(), DType::kFloat32, ReduceOp::kSum));
  }
  if (rank != 0) return absl::OkStatus();
  double total = 0;
  for (float l : losses) total += l;
  const double mean = total / static_cast<double>(n);
  std::printf("kachi eval: %s | %lld windows x %lld tokens (batch %lld) over %d rank(s) | loss %.6f | perplexity "
              "%.4f\n", args.weights.c_str(), static_cast<long long>(n), static_cast<long long>(seq_len),
              static_cast<long long>(args.batch), size, mean,
              std::exp(mean));
  std::fflush(stdout);
  if (args.logits.empty()) return absl::OkStatus();
  KACHI_RETURN_IF_ERROR(WriteLogits(*model, stream, args, seq_len, available));
  std::printf("kachi eval: logits of %zu window(s) written to %s\n", args.logits_windows.size(), args.logits.c_str());
  return absl::OkStatus();
}

}  // namespace

int EvalCommand(const std::vector<std::string>& args) {
  absl::StatusOr<EvalArgs> parsed = ParseEvalArgs(args);
  if (!parsed.ok()) {
    std::fprintf(stderr, "kachi eval: %s\n%s\n", std::string(parsed.status().message()).c_str(), kUsage);
    return 2;
  }
  auto session = BootstrapFromFlags();
  if (!session.ok()) {
    PrintBootstrapError("kachi eval", session.status());
    return 1;
  }
  const int rank = (*session)->world.rank;
  absl::Status st = Eval(*parsed, *(*session)->world_comm, rank, (*session)->world.world_size);
  if (!st.ok()) {
    // Every rank meets the same input errors; one line from rank 0 (others print only their own failures).
    if (rank == 0 || st.code() == absl::StatusCode::kDeadlineExceeded) {
      std::fprintf(stderr, "kachi eval: %s\n", std::string(st.message()).c_str());
    }
    return 1;
  }
  return 0;
}

}  // namespace kachi
