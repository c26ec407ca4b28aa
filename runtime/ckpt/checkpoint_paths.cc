// Checkpoint directory names and listings (see checkpoint_paths.h).
#include "runtime/ckpt/checkpoint_paths.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_format.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"

namespace kachi::ckpt {

namespace fs = std::filesystem;

std::string StepDirName(int64_t step) { return absl::StrFormat("step_%08d", step); }

std::optional<int64_t> ParseStepDirName(const std::string& name) {
  absl::string_view rest = name;
  if (!absl::ConsumePrefix(&rest, "step_") || rest.empty() || rest.size() > 18) return std::nullopt;
  int64_t step = 0;
  for (char c : rest) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    step = step * 10 + (c - '0');
  }
  return step;
}

std::string StepDirPath(const std::string& dir, int64_t step) { return dir + "/" + StepDirName(step); }

std::string TempStepDirPath(const std::string& dir, int64_t step, int64_t nonce) {
  return absl::StrFormat("%s/.tmp_%s_%d", dir, StepDirName(step), nonce);
}

bool IsTempStepDirName(const std::string& name) { return absl::StartsWith(name, ".tmp_step_"); }

std::string ShardFileName(int rank) { return absl::StrFormat("shard_%05d.bin", rank); }

std::string ShardRecordName(int rank) { return absl::StrFormat("shard_%05d.record", rank); }

std::vector<int64_t> ListStepDirs(const std::string& dir) {
  std::vector<int64_t> steps;
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, error)) {
    if (!entry.is_directory(error)) continue;
    if (std::optional<int64_t> step = ParseStepDirName(entry.path().filename().string())) steps.push_back(*step);
  }
  std::sort(steps.begin(), steps.end());
  return steps;
}

std::vector<int64_t> ListStepsWithManifest(const std::string& dir) {
  std::vector<int64_t> complete;
  std::error_code error;
  for (int64_t step : ListStepDirs(dir)) {
    if (fs::is_regular_file(StepDirPath(dir, step) + "/" + kManifestFile, error)) complete.push_back(step);
  }
  return complete;
}

std::optional<int64_t> ReadLatest(const std::string& dir) {
  std::ifstream in(dir + "/" + kLatestFile);
  std::string name;
  if (!in || !(in >> name)) return std::nullopt;
  return ParseStepDirName(name);
}

std::vector<int64_t> LoadCandidates(const std::string& dir) {
  std::vector<int64_t> steps = ListStepDirs(dir);
  std::sort(steps.rbegin(), steps.rend());
  const std::optional<int64_t> latest = ReadLatest(dir);
  if (!latest.has_value() || std::find(steps.begin(), steps.end(), *latest) == steps.end()) return steps;
  std::vector<int64_t> order = {*latest};
  for (int64_t step : steps) {
    if (step < *latest) order.push_back(step);
  }
  return order;
}

}  // namespace kachi::ckpt
