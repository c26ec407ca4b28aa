// `kachi data` (see data_command.h): option parsing and the printed summary around TextToShards.
#include "launcher/data_command.h"

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "kernels/base/status_macros.h"

ABSL_FLAG(std::string, data_out, "", "kachi data: output directory for train_*.bin and val_*.bin shards");
ABSL_FLAG(double, data_val_fraction, 0.1, "kachi data: fraction of each input file held out as validation");
ABSL_FLAG(int64_t, data_shard_tokens, 100000000, "kachi data: tokens per shard");
ABSL_FLAG(std::string, data_tokenizer, "",
          "kachi data: byte-level BPE tokenizer (tokenizer.json, or a directory with it or vocab.json + merges.txt); "
          "empty = byte tokenizer");
ABSL_FLAG(int, data_threads, 0, "kachi data: encoding threads for --tokenizer (0 = all hardware threads)");

namespace kachi {
namespace {

int DefaultThreads() { return std::max(1, static_cast<int>(std::thread::hardware_concurrency())); }

// Applies one "--name value" option to `options`; InvalidArgument for an unknown name or a malformed value.
absl::Status ApplyOption(const std::string& name, const std::string& value, TextToShardsOptions& options) {
  if (name == "out") {
    options.out_dir = value;
  } else if (name == "val_fraction") {
    if (!absl::SimpleAtod(value, &options.val_fraction)) {
      return absl::InvalidArgumentError(absl::StrCat("--val_fraction is '", value, "', expected a number"));
    }
  } else if (name == "shard_tokens") {
    if (!absl::SimpleAtoi(value, &options.shard_tokens)) {
      return absl::InvalidArgumentError(absl::StrCat("--shard_tokens is '", value, "', expected an integer"));
    }
  } else if (name == "chunk_bytes") {  // encoding chunk size; small values let tests exercise the threads
    if (!absl::SimpleAtoi(value, &options.chunk_bytes) || options.chunk_bytes < 1) {
      return absl::InvalidArgumentError(absl::StrCat("--chunk_bytes is '", value, "', expected an integer >= 1"));
    }
  } else if (name == "tokenizer") {
    options.tokenizer = value;
  } else if (name == "threads") {
    if (!absl::SimpleAtoi(value, &options.threads) || options.threads < 0) {
      return absl::InvalidArgumentError(absl::StrCat("--threads is '", value, "', expected an integer >= 0"));
    }
    if (options.threads == 0) options.threads = DefaultThreads();
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown option --", name, "; expected --out, --val_fraction, --shard_tokens, --tokenizer or --threads"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TextToShardsOptions> ParseDataCommandArgs(const std::vector<std::string>& args) {
  TextToShardsOptions options;
  options.out_dir = absl::GetFlag(FLAGS_data_out);
  options.val_fraction = absl::GetFlag(FLAGS_data_val_fraction);
  options.shard_tokens = absl::GetFlag(FLAGS_data_shard_tokens);
  options.tokenizer = absl::GetFlag(FLAGS_data_tokenizer);
  options.threads = absl::GetFlag(FLAGS_data_threads) > 0 ? absl::GetFlag(FLAGS_data_threads) : DefaultThreads();
  options.progress = true;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (!absl::StartsWith(arg, "--")) {
      options.input_files.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::string value;
    if (const size_t equals = name.find('='); equals != std::string::npos) {
      value = name.substr(equals + 1);
      name.resize(equals);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return absl::InvalidArgumentError(absl::StrCat("option ", arg, " needs a value"));
    }
    KACHI_RETURN_IF_ERROR(ApplyOption(name, value, options));
  }
  return options;
}

int DataCommand(const std::vector<std::string>& args) {
  absl::StatusOr<TextToShardsOptions> options = ParseDataCommandArgs(args);
  if (!options.ok()) {
    std::cerr << "kachi data: " << options.status().message() << "\n"
              << "usage: kachi data --out DIR [--val_fraction 0.1] [--shard_tokens N] [--tokenizer DIR] "
                 "[--threads N] FILE...\n";
    return 2;
  }
  absl::StatusOr<TextToShardsResult> result = TextToShards(*options);
  if (!result.ok()) {
    std::cerr << "kachi data: " << result.status() << "\n";
    return 1;
  }
  const std::string tokenizer =
      options->tokenizer.empty()
          ? std::string("byte tokenizer, vocab 256")
          : absl::StrCat("BPE tokenizer ", options->tokenizer, ", vocab ", result->vocab_size, ", ",
                         result->wide ? "uint32 shards (magic 20240801)" : "uint16 shards", ", ", options->threads,
                         " thread(s), ",
                         absl::StrFormat("%.2f MB/s", result->encode_seconds > 0
                                                          ? result->input_bytes / 1e6 / result->encode_seconds
                                                          : 0.0));
  std::cout << "kachi data: " << options->input_files.size() << " file(s) -> " << options->out_dir << " ("
            << tokenizer << ", val_fraction " << options->val_fraction << ", shard_tokens "
            << options->shard_tokens << ")\n"
            << "  train: " << result->train_tokens << " tokens in " << result->train_shards.size() << " shard(s)\n"
            << "  val:   " << result->val_tokens << " tokens in " << result->val_shards.size() << " shard(s)\n";
  return 0;
}

}  // namespace kachi
