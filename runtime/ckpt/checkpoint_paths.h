// Names inside a checkpoint directory DIR: DIR/step_XXXXXXXX/ (one committed checkpoint: shard_RRRRR.bin per rank
// and manifest.binpb), DIR/.tmp_step_XXXXXXXX_NONCE/ (a save in progress), DIR/latest (the name of the newest
// committed step directory), and the listing of what is there.
#ifndef KACHI_RUNTIME_CKPT_CHECKPOINT_PATHS_H_
#define KACHI_RUNTIME_CKPT_CHECKPOINT_PATHS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kachi::ckpt {

// File name of the manifest inside a step directory.
inline constexpr char kManifestFile[] = "manifest.binpb";
// File in DIR naming the newest committed step directory.
inline constexpr char kLatestFile[] = "latest";

// "step_00000010".
std::string StepDirName(int64_t step);
// The step of a name made by StepDirName, or nullopt for any other name.
std::optional<int64_t> ParseStepDirName(const std::string& name);
// "DIR/step_00000010".
std::string StepDirPath(const std::string& dir, int64_t step);
// "DIR/.tmp_step_00000010_<nonce>": where a save writes before its commit.
std::string TempStepDirPath(const std::string& dir, int64_t step, int64_t nonce);
// True for names made by TempStepDirPath (".tmp_step_..."): leftovers of interrupted saves.
bool IsTempStepDirName(const std::string& name);
// "shard_00003.bin": rank 3's shard file.
std::string ShardFileName(int rank);
// "shard_00003.record": rank 3's report to the committing rank (a ShardRecord, written after the shard is synced).
std::string ShardRecordName(int rank);

// Steps of the step directories in DIR (committed or not), ascending; empty when DIR does not exist.
std::vector<int64_t> ListStepDirs(const std::string& dir);
// Steps whose directory holds a manifest, ascending (what retention counts as complete; checksums not read).
std::vector<int64_t> ListStepsWithManifest(const std::string& dir);
// The step DIR/latest names, or nullopt when it is missing or malformed.
std::optional<int64_t> ReadLatest(const std::string& dir);
// The order in which a loader tries checkpoints: the step `latest` names first (when its directory exists), then
// every other step directory below it, newest first (all step directories newest first when latest is absent).
std::vector<int64_t> LoadCandidates(const std::string& dir);

}  // namespace kachi::ckpt

#endif  // KACHI_RUNTIME_CKPT_CHECKPOINT_PATHS_H_
