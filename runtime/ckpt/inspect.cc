// The text of `kachi ckpt inspect` (see inspect.h).
#include "runtime/ckpt/inspect.h"

#include <algorithm>
#include <filesystem>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "runtime/ckpt/checkpoint_paths.h"
#include "runtime/ckpt/manifest.h"
#include "runtime/ckpt/shard_io.h"
#include "runtime/ckpt/verify.h"
#include "runtime/model/gpt_shape.h"

namespace kachi::ckpt {
namespace {

namespace fs = std::filesystem;

std::string PieceText(const TensorPiece& piece) {
  std::vector<std::string> rows;
  for (const RowSpan& span : piece.rows()) rows.push_back(absl::StrCat(span.start(), ":", span.start() + span.count()));
  return absl::StrCat("tp", piece.tp_rank(), " rows ", absl::StrJoin(rows, ","), " x cols ", piece.col_start(), ":",
                      piece.col_start() + piece.local_cols());
}

// One step directory's section; `with_tensors` adds the tensor table. Returns whether it is sound.
bool AppendStep(const std::string& step_dir, bool with_tensors, bool brief, std::string* text) {
  const std::string name = fs::path(step_dir).filename().string();
  bool sealed = false;
  absl::StatusOr<Manifest> manifest = ReadManifest(step_dir, &sealed);
  if (!manifest.ok()) {
    absl::StrAppend(text, name, absl::IsNotFound(manifest.status()) ? "  INCOMPLETE: " : "  DAMAGED: ",
                    manifest.status().message(), "\n");
    return false;
  }
  const std::vector<std::string> problems = VerifyShards(step_dir, *manifest);
  int64_t bytes = 0;
  bool params_split = false;  // PARAMS from master weights, split by optimizer range (mixed precision)
  for (const ShardRecord& shard : manifest->shards()) {
    bytes += shard.bytes();
    for (const Segment& segment : shard.segments()) {
      if (segment.kind() == Segment::PARAMS && shard.dp_rank() != 0) params_split = true;
    }
  }
  const LayoutRecord& layout = manifest->layout();
  const LoaderState& loader = manifest->loader();
  absl::StrAppend(text, absl::StrFormat(
      "%s  %s  step %d | dp %d x tp %d%s | %s | %.3f MB in %d shards | loader step %d epoch %d seed %d global batch "
      "%d | AdamW steps %d%s%s\n",
      name, problems.empty() ? "OK" : "DAMAGED", manifest->step(), layout.dp(), layout.tp(),
      layout.zero1() ? " ZeRO-1" : "", DescribeShape(ShapeFromProto(manifest->shape())), bytes / 1e6,
      manifest->shards_size(), loader.step(), loader.epoch(), loader.seed(), loader.global_batch(),
      manifest->optimizer_steps(),
      params_split ? " | parameters from fp32 master weights, split by optimizer range" : "",
      sealed ? "" : " | unsealed manifest (written before manifest checksums)"));
  for (const std::string& problem : problems) absl::StrAppend(text, "    problem: ", problem, "\n");
  if (brief) return problems.empty();
  for (const ShardRecord& shard : manifest->shards()) {
    std::vector<std::string> kinds;
    for (const Segment& segment : shard.segments()) {
      kinds.push_back(absl::StrCat(Segment::Kind_Name(segment.kind()), "[", segment.flat_begin(), ",",
                                   segment.flat_end(), ")"));
    }
    absl::StatusOr<FileDigest> digest = DigestFile(step_dir + "/" + shard.file());
    const bool ok = digest.ok() && digest->bytes == shard.bytes() && digest->crc32 == shard.crc32();
    absl::StrAppend(text, absl::StrFormat("    %s  rank %d (dp %d, tp %d)  %d bytes  crc32 %08x %s  %s\n",
                                          shard.file(), shard.rank(), shard.dp_rank(), shard.tp_rank(), shard.bytes(),
                                          shard.crc32(), ok ? "ok" : "MISMATCH",
                                          kinds.empty() ? "(empty)" : absl::StrJoin(kinds, " ")));
  }
  if (with_tensors) {
    absl::StrAppend(text, "    tensors (", manifest->tensors_size(), "):\n");
    for (const TensorRecord& tensor : manifest->tensors()) {
      std::vector<std::string> pieces;
      for (const TensorPiece& piece : tensor.pieces()) pieces.push_back(PieceText(piece));
      absl::StrAppend(text, absl::StrFormat("      %-28s [%s]%s  %s\n", tensor.name(),
                                            absl::StrJoin(tensor.global_shape(), ", "),
                                            tensor.tp_replicated() ? " replicated" : "", absl::StrJoin(pieces, " | ")));
    }
  }
  return problems.empty();
}

}  // namespace

absl::StatusOr<std::string> InspectCheckpoints(const std::string& path, bool* sound, bool brief) {
  std::string text;
  std::error_code error;
  bool all_sound = true;
  if (fs::exists(path + "/" + kManifestFile, error)) {
    all_sound = AppendStep(path, /*with_tensors=*/true, brief, &text);
    if (sound != nullptr) *sound = all_sound;
    return text;
  }
  const std::vector<int64_t> steps = ListStepDirs(path);
  std::vector<std::string> temps;
  for (const fs::directory_entry& entry : fs::directory_iterator(path, error)) {
    if (IsTempStepDirName(entry.path().filename().string())) temps.push_back(entry.path().filename().string());
  }
  if (steps.empty() && temps.empty()) {
    return absl::NotFoundError(absl::StrCat("'", path, "' holds no checkpoint (no step_* directory, no manifest)"));
  }
  const std::optional<int64_t> latest = ReadLatest(path);
  const bool has_latest_file = fs::exists(path + "/" + kLatestFile, error);
  std::string latest_text = latest.has_value() ? StepDirName(*latest) : "(none)";
  if (has_latest_file && !latest.has_value()) {
    latest_text = "DAMAGED (the file 'latest' names no step directory; loaders fall back to the newest step)";
    all_sound = false;
  } else if (latest.has_value() && !std::binary_search(steps.begin(), steps.end(), *latest)) {
    latest_text += " DAMAGED (no such step directory; loaders fall back to the newest step)";
    all_sound = false;
  }
  absl::StrAppend(&text, "checkpoints in ", path, ": ", steps.size(), " step directories, latest -> ", latest_text,
                  "\n");
  bool tensors_shown = brief;
  for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
    if (AppendStep(StepDirPath(path, *it), !tensors_shown, brief, &text)) {
      tensors_shown = true;
    } else {
      all_sound = false;
    }
  }
  std::sort(temps.begin(), temps.end());
  for (const std::string& temp : temps) {
    absl::StrAppend(&text, temp, "  INTERRUPTED save (not committed; ignored by loaders, removed at the next save)\n");
  }
  if (sound != nullptr) *sound = all_sound;
  return text;
}

}  // namespace kachi::ckpt
