// Shard verification and the single-process choice of a loadable checkpoint (see verify.h).
#include "runtime/ckpt/verify.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "runtime/ckpt/checkpoint_paths.h"
#include "runtime/ckpt/manifest.h"
#include "runtime/ckpt/shard_io.h"

namespace kachi::ckpt {

std::vector<std::string> VerifyShards(const std::string& step_dir, const Manifest& manifest, int part, int parts) {
  std::vector<std::string> problems;
  for (int i = part; i < manifest.shards_size(); i += parts) {
    const ShardRecord& shard = manifest.shards(i);
    const std::string path = step_dir + "/" + shard.file();
    for (const Segment& segment : shard.segments()) {
      const int64_t end = segment.byte_offset() + (segment.flat_end() - segment.flat_begin()) * 4;
      if (segment.byte_offset() < 0 || segment.flat_end() < segment.flat_begin() || end > shard.bytes()) {
        problems.push_back(absl::StrCat(path, ": the manifest places a segment at bytes [", segment.byte_offset(),
                                        ", ", end, ") of a ", shard.bytes(), "-byte shard"));
      }
    }
    absl::StatusOr<FileDigest> digest = DigestFile(path);
    if (!digest.ok()) {
      problems.push_back(std::string(digest.status().message()));
    } else if (digest->bytes != shard.bytes()) {
      problems.push_back(absl::StrCat(path, ": size ", digest->bytes, " bytes, the manifest says ", shard.bytes(),
                                      " (truncated or overwritten)"));
    } else if (digest->crc32 != shard.crc32()) {
      problems.push_back(absl::StrFormat("%s: crc32 0x%08x, the manifest says 0x%08x (corrupted)", path,
                                         digest->crc32, shard.crc32()));
    }
  }
  return problems;
}

absl::StatusOr<std::string> FindLoadableCheckpoint(const std::string& dir, std::vector<std::string>* skipped) {
  const std::vector<int64_t> candidates = LoadCandidates(dir);
  if (candidates.empty()) return absl::NotFoundError(absl::StrCat("no checkpoint (step_* directory) in '", dir, "'"));
  for (int64_t step : candidates) {
    const std::string path = StepDirPath(dir, step);
    std::string problem;
    absl::StatusOr<Manifest> manifest = ReadManifest(path);
    if (!manifest.ok()) {
      problem = std::string(manifest.status().message());
    } else if (std::vector<std::string> problems = VerifyShards(path, *manifest); !problems.empty()) {
      problem = problems.front();
    }
    if (problem.empty()) return path;
    if (skipped != nullptr) skipped->push_back(absl::StrCat(path, ": ", problem));
  }
  return absl::DataLossError(absl::StrCat("no loadable checkpoint in '", dir, "': all ", candidates.size(),
                                          " step directories are damaged or incomplete"));
}

}  // namespace kachi::ckpt
