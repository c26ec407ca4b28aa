// TextToShards (see text_to_shards.h).
#include "runtime/data/text_to_shards.h"

#include <cmath>
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

}  // namespace

absl::StatusOr<TextToShardsResult> TextToShards(const TextToShardsOptions& options) {
  if (absl::Status status = ValidateOptions(options); !status.ok()) return status;
  // Check every input exists before writing anything.
  for (const std::string& path : options.input_files) {
    if (!std::filesystem::is_regular_file(path)) {
      return absl::NotFoundError(absl::StrCat("input file ", path, ": not found or not a regular file"));
    }
  }
  if (absl::Status status = PrepareOutputDir(options.out_dir); !status.ok()) return status;

  ShardSink train(options.out_dir, "train", options.shard_tokens);
  ShardSink val(options.out_dir, "val", options.shard_tokens);
  for (const std::string& path : options.input_files) {
    absl::StatusOr<std::string> text = ReadWholeFile(path);
    if (!text.ok()) return text.status();
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
  return result;
}

}  // namespace kachi
