// TextToShards (see text_to_shards.h).
#include "runtime/data/text_to_shards.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "runtime/data/bpe_parallel.h"
#include "runtime/data/bpe_tokenizer.h"
#include "runtime/data/byte_tokenizer.h"
#include "runtime/data/shard_sink.h"

namespace kachi {
namespace {

absl::Status ValidateOptions(const TextToShardsOptions& options) {
  if (options.input_files.empty()) {
    return absl::InvalidArgumentError("no input files given: expected at least one text file");
  }
  if (options.out_dir.empty()) return absl::InvalidArgumentError("no output directory given (--out DIR)");
  if (!(options.val_fraction >= 0.0 && options.val_fraction < 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("val_fraction is ", options.val_fraction, ", expected a value in [0, 1)"));
  }
  if (options.threads < 1) {
    return absl::InvalidArgumentError(absl::StrCat("threads is ", options.threads, ", expected at least 1"));
  }
  if (options.shard_tokens <= 0 || options.shard_tokens > std::numeric_limits<int32_t>::max()) {
    return absl::InvalidArgumentError(absl::StrCat("shard_tokens is ", options.shard_tokens,
                                                   ", expected a value in [1, ",
                                                   std::numeric_limits<int32_t>::max(), "]"));
  }
  return absl::OkStatus();
}

// Creates `dir` if needed and refuses one that already holds shards (a loader globbing it would mix old and new).
absl::Status PrepareOutputDir(const std::string& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return absl::PermissionDeniedError(absl::StrCat("cannot create ", dir, ": ", error.message()));
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    const std::string name = entry.path().filename().string();
    if ((absl::StartsWith(name, "train_") || absl::StartsWith(name, "val_")) && absl::EndsWith(name, ".bin")) {
      return absl::FailedPreconditionError(absl::StrCat(
          "output directory ", dir, " already holds shard ", name, "; expected a directory without shards"));
    }
  }
  if (error) return absl::PermissionDeniedError(absl::StrCat("cannot list ", dir, ": ", error.message()));
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("input file ", path, ": cannot open for reading"));
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat("input file ", path, ": read failed"));
  return std::move(contents).str();
}

// Encodes one file's text with the BPE tokenizer, printing a progress line for large inputs when asked.
std::vector<int32_t> EncodeFile(const BpeTokenizer& tokenizer, const std::string& path, absl::string_view text,
                                const TextToShardsOptions& options) {
  std::vector<int32_t> ids;
  if (const int32_t eot = tokenizer.AddedTokenId("<|endoftext|>"); eot >= 0) ids.push_back(eot);
  const bool show = options.progress && text.size() > (size_t{16} << 20);
  const auto start = std::chrono::steady_clock::now();
  auto last = start;
  const auto progress = [&](size_t done) {
    const auto now = std::chrono::steady_clock::now();
    if (now - last < std::chrono::seconds(1) && done < text.size()) return;
    last = now;
    const double seconds = std::chrono::duration<double>(now - start).count();
    std::fprintf(stderr, "\r  %s: %.1f / %.1f MiB encoded (%.1f MiB/s)%s", path.c_str(), done / 1048576.0,
                 text.size() / 1048576.0, seconds > 0 ? done / 1048576.0 / seconds : 0.0,
                 done == text.size() ? "\n" : "");
    std::fflush(stderr);
  };
  std::vector<int32_t> body =
      EncodeParallel(tokenizer, text, options.threads, static_cast<size_t>(std::max<int64_t>(options.chunk_bytes, 1)),
                     show ? std::function<void(size_t)>(progress) : std::function<void(size_t)>());
  ids.insert(ids.end(), body.begin(), body.end());
  return ids;
}

}  // namespace

absl::StatusOr<TextToShardsResult> TextToShards(const TextToShardsOptions& options) {
  if (absl::Status status = ValidateOptions(options); !status.ok()) return status;
  // Check every input exists before writing anything.
  for (const std::string& path : options.input_files) {
    if (!std::filesystem::is_regular_file(path)) {
      return absl::NotFoundError(absl::StrCat("input file ", path, ": not found or not a regular file"));
    }
  }

  std::optional<BpeTokenizer> tokenizer;
  if (!options.tokenizer.empty()) {
    absl::StatusOr<BpeTokenizer> loaded = BpeTokenizer::Load(options.tokenizer);
    if (!loaded.ok()) return loaded.status();
    tokenizer.emplace(*std::move(loaded));
  }
  const bool wide = tokenizer.has_value() && tokenizer->vocab_size() > 65536;
  if (absl::Status status = PrepareOutputDir(options.out_dir); !status.ok()) return status;

  ShardSink train(options.out_dir, "train", options.shard_tokens, wide);
  ShardSink val(options.out_dir, "val", options.shard_tokens, wide);
  int64_t input_bytes = 0;
  double encode_seconds = 0;
  for (const std::string& path : options.input_files) {
    absl::StatusOr<std::string> text = ReadWholeFile(path);
    if (!text.ok()) return text.status();
    input_bytes += static_cast<int64_t>(text->size());
    if (tokenizer.has_value()) {
      const auto start = std::chrono::steady_clock::now();
      const std::vector<int32_t> ids = EncodeFile(*tokenizer, path, *text, options);
      encode_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const size_t val_count =
          static_cast<size_t>(std::floor(static_cast<double>(ids.size()) * options.val_fraction));
      const absl::Span<const int32_t> all(ids);
      if (absl::Status status = train.Append(all.subspan(0, ids.size() - val_count)); !status.ok()) return status;
      if (absl::Status status = val.Append(all.subspan(ids.size() - val_count)); !status.ok()) return status;
      continue;
    }
    const std::vector<uint16_t> tokens = ByteTokenize(*text);
    const size_t val_count =
        static_cast<size_t>(std::floor(static_cast<double>(tokens.size()) * options.val_fraction));
    const absl::Span<const uint16_t> all(tokens);
    if (absl::Status status = train.Append(all.subspan(0, tokens.size() - val_count)); !status.ok()) return status;
    if (absl::Status status = val.Append(all.subspan(tokens.size() - val_count)); !status.ok()) return status;
  }
  if (absl::Status status = train.Finish(); !status.ok()) return status;
  if (absl::Status status = val.Finish(); !status.ok()) return status;

  TextToShardsResult result;
  result.train_tokens = train.total_tokens();
  result.val_tokens = val.total_tokens();
  result.train_shards = train.shard_paths();
  result.val_shards = val.shard_paths();
  result.vocab_size = tokenizer.has_value() ? tokenizer->vocab_size() : kByteVocabSize;
  result.wide = wide;
  result.input_bytes = input_bytes;
  result.encode_seconds = encode_seconds;
  return result;
}

}  // namespace kachi
