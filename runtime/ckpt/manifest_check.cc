// Manifest seal and structural validation (see manifest_check.h).
#include "runtime/ckpt/manifest_check.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "kernels/base/status_macros.h"
#include "runtime/ckpt/checkpoint_paths.h"
#include "runtime/ckpt/manifest.h"
#include "runtime/ckpt/shard_io.h"
#include "runtime/model/gpt_shape.h"

namespace kachi::ckpt {
namespace {

// Tag byte of field 12 (manifest_crc32), wire type 5 (fixed32).
constexpr unsigned char kSealTag = (12 << 3) | 5;
constexpr size_t kSealBytes = 5;
// Bounds on what a manifest may claim (far above any model kachi can train; they keep the arithmetic exact).
constexpr int64_t kMaxParallel = 1 << 16;       // dp, tp
constexpr int64_t kMaxBufferElements = int64_t{1} << 40;
constexpr int64_t kMaxShardBytes = int64_t{1} << 50;
// Each size of the model shape: {name, upper bound}.
constexpr int64_t kMaxLayers = 1 << 16, kMaxHeads = 1 << 16, kMaxWidth = 1 << 20, kMaxVocab = int64_t{1} << 31,
                  kMaxContext = 1 << 24;

std::string Crc32Text(uint32_t crc) { return absl::StrFormat("0x%08x", crc); }

// DataLoss "'<step_dir>/manifest.binpb': <what>".
absl::Status Damaged(const std::string& step_dir, const std::string& what) {
  return absl::DataLossError(absl::StrCat("'", step_dir, "/", kManifestFile, "': ", what));
}

absl::Status CheckShape(const std::string& step_dir, const Manifest& manifest) {
  const ModelShape& s = manifest.shape();
  struct Bound {
    const char* name;
    int64_t value, max;
  };
  for (const Bound& b : {Bound{"layers", s.layers(), kMaxLayers}, Bound{"heads", s.heads(), kMaxHeads},
                         Bound{"width", s.width(), kMaxWidth}, Bound{"vocab_size", s.vocab_size(), kMaxVocab},
                         Bound{"padded_vocab", s.padded_vocab(), kMaxVocab}, Bound{"context", s.context(), kMaxContext}}) {
    if (b.value <= 0 || b.value > b.max) {
      return Damaged(step_dir, absl::StrCat("model ", b.name, " = ", b.value, " is outside [1, ", b.max, "]"));
    }
  }
  const GptShape shape = ShapeFromProto(s);
  if (auto st = ValidateShape(shape, manifest.layout().tp()); !st.ok()) return Damaged(step_dir, std::string(st.message()));
  if (shape.num_parameters() / std::max<int64_t>(1, manifest.layout().tp()) > manifest.layout().buffer_size()) {
    return Damaged(step_dir, absl::StrCat("a model of ", shape.num_parameters(), " parameters at tp ",
                                          manifest.layout().tp(), " does not fit its flat buffer of ",
                                          manifest.layout().buffer_size(), " elements"));
  }
  return absl::OkStatus();
}

// The tensor records must be exactly those the shape and tp give (the writer's AddTensorRecords).
absl::Status CheckTensors(const std::string& step_dir, const Manifest& manifest) {
  Manifest expected;
  AddTensorRecords(ShapeFromProto(manifest.shape()), manifest.layout().tp(), &expected);
  if (expected.tensors_size() != manifest.tensors_size()) {
    return Damaged(step_dir, absl::StrCat("lists ", manifest.tensors_size(), " tensors, the model shape has ",
                                          expected.tensors_size()));
  }
  for (int i = 0; i < expected.tensors_size(); ++i) {
    std::string diff;
    google::protobuf::util::MessageDifferencer differencer;
    differencer.ReportDifferencesToString(&diff);
    if (!differencer.Compare(expected.tensors(i), manifest.tensors(i))) {
      if (diff.size() > 300) diff = diff.substr(0, 300) + "...";
      while (!diff.empty() && diff.back() == '\n') diff.pop_back();
      return Damaged(step_dir, absl::StrCat("tensor record ", i, " (", manifest.tensors(i).name(),
                                            ") is not the layout of its shape at tp ", manifest.layout().tp(),
                                            " (expected -> found): ", diff));
    }
  }
  return absl::OkStatus();
}

// Shard records: one per rank in order, plain file names, segments inside their shard and flat buffer, disjoint in
// bytes, and per (kind, tp rank) disjoint and covering exactly [0, extent of the tensors of that tp rank).
absl::Status CheckShards(const std::string& step_dir, const Manifest& manifest) {
  const LayoutRecord& layout = manifest.layout();
  const int64_t buffer = layout.buffer_size();
  std::vector<int64_t> extent(static_cast<size_t>(layout.tp()), 0);
  for (const TensorRecord& tensor : manifest.tensors()) {
    for (const TensorPiece& piece : tensor.pieces()) {
      int64_t& e = extent[static_cast<size_t>(piece.tp_rank())];
      e = std::max(e, piece.flat_offset() + piece.size());
    }
  }
  // The flat buffer is the tensors padded to a multiple of dp under ZeRO-1 (GptModel), exactly them otherwise.
  const int64_t pad = layout.zero1() ? layout.dp() : 1;
  for (int64_t e : extent) {
    if (buffer != (e + pad - 1) / pad * pad) {
      return Damaged(step_dir, absl::StrCat("flat buffer of ", buffer, " elements, the tensors take ", e,
                                            layout.zero1() ? absl::StrCat(" (padded to a multiple of dp ", pad, ")")
                                                           : std::string()));
    }
  }
  std::map<std::pair<int, int>, std::vector<std::pair<int64_t, int64_t>>> flat;  // (kind, tp) -> ranges
  for (int i = 0; i < manifest.shards_size(); ++i) {
    const ShardRecord& shard = manifest.shards(i);
    const std::string where = absl::StrCat("shard record ", i, " (", shard.file(), ")");
    if (shard.rank() != i) return Damaged(step_dir, absl::StrCat(where, " names rank ", shard.rank()));
    if (shard.file() != ShardFileName(i)) {
      return Damaged(step_dir, absl::StrCat(where, ": file name is not ", ShardFileName(i)));
    }
    if (shard.dp_rank() < 0 || shard.dp_rank() >= layout.dp() || shard.tp_rank() < 0 || shard.tp_rank() >= layout.tp()) {
      return Damaged(step_dir, absl::StrCat(where, ": dp rank ", shard.dp_rank(), " / tp rank ", shard.tp_rank(),
                                            " outside dp ", layout.dp(), " x tp ", layout.tp()));
    }
    if (shard.bytes() < 0 || shard.bytes() > kMaxShardBytes) {
      return Damaged(step_dir, absl::StrCat(where, ": size ", shard.bytes(), " bytes"));
    }
    if (shard.optimizer_begin() < 0 || shard.optimizer_begin() > shard.optimizer_end() ||
        shard.optimizer_end() > buffer) {
      return Damaged(step_dir, absl::StrCat(where, ": optimizer range [", shard.optimizer_begin(), ", ",
                                            shard.optimizer_end(), ") outside [0, ", buffer, ")"));
    }
    std::vector<std::pair<int64_t, int64_t>> bytes;
    for (const Segment& seg : shard.segments()) {
      if (!Segment::Kind_IsValid(seg.kind()) || seg.tp_rank() < 0 || seg.tp_rank() >= layout.tp() ||
          seg.flat_begin() < 0 || seg.flat_begin() >= seg.flat_end() || seg.flat_end() > buffer ||
          seg.byte_offset() < 0 || seg.byte_offset() > shard.bytes() ||
          (seg.flat_end() - seg.flat_begin()) * 4 > shard.bytes() - seg.byte_offset()) {
        return Damaged(step_dir, absl::StrCat(where, ": segment ", Segment::Kind_Name(seg.kind()), " tp ",
                                              seg.tp_rank(), " flat [", seg.flat_begin(), ", ", seg.flat_end(),
                                              ") at byte ", seg.byte_offset(), " does not fit a ", buffer,
                                              "-element buffer and a ", shard.bytes(), "-byte shard"));
      }
      bytes.emplace_back(seg.byte_offset(), seg.byte_offset() + (seg.flat_end() - seg.flat_begin()) * 4);
      flat[{seg.kind(), seg.tp_rank()}].emplace_back(seg.flat_begin(), seg.flat_end());
    }
    std::sort(bytes.begin(), bytes.end());
    for (size_t k = 1; k < bytes.size(); ++k) {
      if (bytes[k].first < bytes[k - 1].second) {
        return Damaged(step_dir, absl::StrCat(where, ": segments overlap at byte ", bytes[k].first));
      }
    }
  }
  for (int kind : {Segment::PARAMS, Segment::ADAM_M, Segment::ADAM_V}) {
    for (int tp = 0; tp < layout.tp(); ++tp) {
      std::vector<std::pair<int64_t, int64_t>>& ranges = flat[{kind, tp}];
      std::sort(ranges.begin(), ranges.end());
      int64_t covered = 0;
      for (const auto& [begin, end] : ranges) {
        if (begin != covered) {
          return Damaged(step_dir, absl::StrCat(Segment::Kind_Name(static_cast<Segment::Kind>(kind)), " of tp rank ",
                                                tp, ": ", begin < covered ? "segments overlap" : "a gap",
                                                " at element ", std::min(begin, covered)));
        }
        covered = end;
      }
      if (covered != extent[static_cast<size_t>(tp)]) {
        return Damaged(step_dir, absl::StrCat(Segment::Kind_Name(static_cast<Segment::Kind>(kind)), " of tp rank ",
                                              tp, " covers elements [0, ", covered, "), its tensors take [0, ",
                                              extent[static_cast<size_t>(tp)], ")"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string SealManifest(const Manifest& manifest) {
  Manifest unsealed = manifest;
  unsealed.clear_manifest_crc32();
  std::string bytes = unsealed.SerializeAsString();
  const uint32_t crc = Crc32(bytes);
  bytes.push_back(static_cast<char>(kSealTag));
  for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
  return bytes;
}

absl::Status CheckManifestSeal(const std::string& path, absl::string_view bytes, const Manifest& manifest,
                               bool* sealed) {
  *sealed = false;
  if (!manifest.has_manifest_crc32()) return absl::OkStatus();
  if (bytes.size() < kSealBytes || static_cast<unsigned char>(bytes[bytes.size() - kSealBytes]) != kSealTag) {
    return absl::DataLossError(absl::StrCat("'", path, "': its checksum field is not at the end of the file"));
  }
  uint32_t stored = 0;
  for (int i = 0; i < 4; ++i) {
    stored |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[bytes.size() - 4 + i])) << (8 * i);
  }
  const uint32_t actual = Crc32(bytes.substr(0, bytes.size() - kSealBytes));
  if (stored != actual || stored != manifest.manifest_crc32()) {
    return absl::DataLossError(absl::StrCat("'", path, "': manifest checksum ", Crc32Text(actual),
                                            ", the manifest says ", Crc32Text(manifest.manifest_crc32()),
                                            " (edited or corrupted)"));
  }
  *sealed = true;
  return absl::OkStatus();
}

absl::Status ValidateManifest(const std::string& step_dir, const Manifest& manifest) {
  if (manifest.format_version() != 1) {
    return Damaged(step_dir, absl::StrCat("format_version ", manifest.format_version(), ", this kachi reads 1"));
  }
  if (manifest.step() < 0 || manifest.optimizer_steps() < 0) {
    return Damaged(step_dir, absl::StrCat("step ", manifest.step(), ", optimizer steps ", manifest.optimizer_steps()));
  }
  const std::optional<int64_t> dir_step = ParseStepDirName(std::filesystem::path(step_dir).filename().string());
  if (dir_step.has_value() && *dir_step != manifest.step()) {
    return Damaged(step_dir, absl::StrCat("says step ", manifest.step(), ", its directory is step ", *dir_step));
  }
  const LayoutRecord& layout = manifest.layout();
  if (layout.dp() < 1 || layout.dp() > kMaxParallel || layout.tp() < 1 || layout.tp() > kMaxParallel) {
    return Damaged(step_dir, absl::StrCat("layout dp ", layout.dp(), " x tp ", layout.tp(), " is outside [1, ",
                                          kMaxParallel, "]"));
  }
  if (layout.buffer_size() < 1 || layout.buffer_size() > kMaxBufferElements) {
    return Damaged(step_dir, absl::StrCat("flat buffer size ", layout.buffer_size(), " elements"));
  }
  if (manifest.shards_size() != layout.dp() * layout.tp()) {
    return Damaged(step_dir, absl::StrCat("lists ", manifest.shards_size(), " shards, expected dp x tp = ",
                                          layout.dp() * layout.tp()));
  }
  const LoaderState& loader = manifest.loader();
  // (The loader's own Restore checks its state against the run; here only what no run can have.)
  if (loader.step() < 0 || loader.epoch() < 0 || loader.global_batch() < 0 || loader.num_windows() < 0 ||
      (manifest.train().has_global_batch() && manifest.has_loader() &&
       manifest.train().global_batch() != loader.global_batch())) {
    return Damaged(step_dir, absl::StrCat("loader state step ", loader.step(), " epoch ", loader.epoch(),
                                          " global batch ", loader.global_batch(), " (run's global batch ",
                                          manifest.train().global_batch(), ") windows ", loader.num_windows()));
  }
  KACHI_RETURN_IF_ERROR(CheckShape(step_dir, manifest));
  KACHI_RETURN_IF_ERROR(CheckTensors(step_dir, manifest));
  return CheckShards(step_dir, manifest);
}

}  // namespace kachi::ckpt
