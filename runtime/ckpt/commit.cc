// Shard writes, record collection and the atomic commit of a checkpoint (see commit.h).
#include "runtime/ckpt/commit.h"

#include <chrono>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "kernels/base/status_macros.h"
#include "runtime/ckpt/checkpoint_paths.h"
#include "runtime/ckpt/chunked_write.h"
#include "runtime/ckpt/manifest.h"
#include "runtime/io/atomic_file.h"

namespace kachi::ckpt {

namespace fs = std::filesystem;

absl::StatusOr<ShardRecord> WriteShard(const std::string& temp_dir, ShardSnapshot* snapshot,
                                       const WritePause& pause) {
  std::error_code error;
  fs::create_directories(temp_dir, error);
  if (!fs::is_directory(temp_dir, error)) {
    return absl::InternalError(absl::StrCat("cannot create checkpoint directory '", temp_dir, "'"));
  }
  ShardRecord record = snapshot->record();
  ChunkedWriteOptions options = snapshot->WriteOptions();
  options.pause = pause;
  absl::StatusOr<FileDigest> digest = WriteChunkedFile(
      temp_dir + "/" + record.file(), snapshot->size(),
      [snapshot](int64_t offset, int64_t size, int slot) { return snapshot->Fetch(offset, size, slot); }, options);
  KACHI_RETURN_IF_ERROR(digest);
  record.set_bytes(digest->bytes);
  record.set_crc32(digest->crc32);
  KACHI_RETURN_IF_ERROR(
      WriteFileAtomically(temp_dir + "/" + ShardRecordName(record.rank()), record.SerializeAsString()));
  return record;
}

void ReportShardFailure(const std::string& temp_dir, int rank, const absl::Status& error) {
  std::error_code ignored;
  fs::create_directories(temp_dir, ignored);
  (void)WriteFileAtomically(temp_dir + "/" + ShardRecordName(rank) + ".failed", error.ToString());
}

absl::StatusOr<std::vector<ShardRecord>> WaitForShardRecords(const std::string& temp_dir, int world_size,
                                                             double timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  std::vector<ShardRecord> records(world_size);
  std::vector<bool> seen(world_size, false);
  int missing = world_size;
  auto sleep = std::chrono::milliseconds(1);
  while (true) {
    for (int rank = 0; rank < world_size; ++rank) {
      if (seen[rank]) continue;
      const std::string path = temp_dir + "/" + ShardRecordName(rank);
      std::error_code error;
      if (fs::exists(path + ".failed", error)) {
        absl::StatusOr<std::string> message = ReadWholeFile(path + ".failed");
        return absl::AbortedError(absl::StrCat("checkpoint save in '", temp_dir, "': rank ", rank,
                                               " could not write its shard: ", message.ok() ? *message : "?"));
      }
      if (!fs::exists(path, error)) continue;
      KACHI_ASSIGN_OR_RETURN(std::string bytes, ReadWholeFile(path));
      if (!records[rank].ParseFromString(bytes) || records[rank].rank() != rank) {
        return absl::DataLossError(absl::StrCat("shard record '", path, "' does not parse as rank ", rank, "'s"));
      }
      seen[rank] = true;
      --missing;
    }
    if (missing == 0) return records;
    if (std::chrono::steady_clock::now() > deadline) {
      std::vector<int> absent;
      for (int rank = 0; rank < world_size; ++rank) {
        if (!seen[rank]) absent.push_back(rank);
      }
      return absl::DeadlineExceededError(absl::StrCat("checkpoint save in '", temp_dir, "': rank(s) ",
                                                      absl::StrJoin(absent, ", "), " did not report a shard within ",
                                                      timeout_s, " s"));
    }
    std::this_thread::sleep_for(sleep);
    sleep = std::min(sleep * 2, std::chrono::milliseconds(50));
  }
}

absl::Status CommitCheckpoint(const std::string& dir, const std::string& temp_dir, Manifest manifest,
                              const std::vector<ShardRecord>& records) {
  for (const ShardRecord& record : records) *manifest.add_shards() = record;
  manifest.set_created_unix_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
  KACHI_RETURN_IF_ERROR(WriteManifest(temp_dir, manifest));
  KACHI_RETURN_IF_ERROR(SyncDirectory(temp_dir));
  const std::string final_dir = StepDirPath(dir, manifest.step());
  std::error_code error;
  if (fs::exists(final_dir, error)) {
    // An older save of the same step (e.g. from a run that was resumed from an earlier step): moved aside first,
    // since rename cannot replace a non-empty directory; its .tmp_ name makes retention sweep it if we crash.
    const std::string aside = temp_dir + "_replaced";
    fs::rename(final_dir, aside, error);
    if (error) {
      return absl::InternalError(absl::StrCat("cannot move the older '", final_dir, "' aside: ", error.message()));
    }
    fs::remove_all(aside, error);
  }
  fs::rename(temp_dir, final_dir, error);
  if (error) {
    return absl::InternalError(absl::StrCat("cannot rename '", temp_dir, "' to '", final_dir, "': ", error.message()));
  }
  KACHI_RETURN_IF_ERROR(SyncDirectory(dir));
  KACHI_RETURN_IF_ERROR(WriteFileAtomically(dir + "/" + kLatestFile, StepDirName(manifest.step()) + "\n"));
  return SyncDirectory(dir);
}

}  // namespace kachi::ckpt
