// `kachi ckpt inspect DIR`, `kachi ckpt check DIR` and `kachi ckpt export DIR --safetensors OUT`: checkpoint tools
// that run in one process without MPI (the shards are read and assembled in memory). DIR is a checkpoint directory
// (its newest sound step is exported) or one step directory. inspect and check exit 0 when every step directory is
// sound (manifest seal and structure, shard sizes and crc32) and `latest` is valid, 3 when any is damaged or
// incomplete, 1 when DIR holds no checkpoint.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "launcher/commands.h"
#include "runtime/ckpt/export.h"
#include "runtime/ckpt/inspect.h"

namespace kachi {
namespace {

constexpr char kUsage[] =
    "usage: kachi ckpt inspect DIR                      steps, layout, tensors, sizes, checksum status\n"
    "       kachi ckpt check DIR                        one line per step: sound, damaged or incomplete (why)\n"
    "       kachi ckpt export DIR --safetensors OUT     model weights with Hugging Face GPT-2 names\n"
    "       kachi ckpt export DIR --hf OUTDIR           a directory from_pretrained opens (config.json +\n"
    "                                                   model.safetensors)\n";

// Exit code of inspect/check when a step directory is damaged or incomplete, or `latest` is garbage.
constexpr int kDamagedExitCode = 3;

int Inspect(const std::string& dir, bool brief) {
  const char* verb = brief ? "check" : "inspect";
  bool sound = false;
  absl::StatusOr<std::string> text = ckpt::InspectCheckpoints(dir, &sound, brief);
  if (!text.ok()) {
    std::fprintf(stderr, "kachi ckpt %s: %s\n", verb, std::string(text.status().message()).c_str());
    return 1;
  }
  std::cout << *text;
  if (!sound) {
    std::fprintf(stderr, "kachi ckpt %s: '%s' holds damaged or incomplete checkpoints (see above)\n", verb,
                 dir.c_str());
    return kDamagedExitCode;
  }
  return 0;
}

int Export(const std::string& dir, const std::string& out) {
  std::vector<std::string> skipped;
  absl::StatusOr<std::string> exported = ckpt::ExportCheckpointSafetensors(dir, out, &skipped);
  for (const std::string& line : skipped) std::fprintf(stderr, "kachi ckpt export: skipped %s\n", line.c_str());
  if (!exported.ok()) {
    std::fprintf(stderr, "kachi ckpt export: %s\n", std::string(exported.status().message()).c_str());
    return 1;
  }
  std::cout << "kachi ckpt export: " << *exported << " -> " << out << "\n";
  return 0;
}

}  // namespace

int CkptCommand(const std::vector<std::string>& args) {
  if (args.size() == 2 && args[0] == "inspect") return Inspect(args[1], /*brief=*/false);
  if (args.size() == 2 && args[0] == "check") return Inspect(args[1], /*brief=*/true);
  if (args.size() == 4 && args[0] == "export" && args[2] == "--safetensors") return Export(args[1], args[3]);
  if (args.size() == 4 && args[0] == "export" && args[2] == "--hf") {
    return Export(args[1], args[3].empty() || args[3].back() == '/' ? args[3] : args[3] + "/");
  }
  if (args.size() == 3 && args[0] == "export" && args[2].rfind("--safetensors=", 0) == 0) {
    return Export(args[1], args[2].substr(std::string("--safetensors=").size()));
  }
  std::fputs(kUsage, stderr);
  return 2;
}

}  // namespace kachi
