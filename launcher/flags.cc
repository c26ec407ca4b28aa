// Definitions of the common flags and their translation into a KachiConfig.
#include "launcher/flags.h"

#include <cstring>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "runtime/config/config.h"

ABSL_FLAG(std::string, config, "", "Configuration file (protobuf text format, e.g. configs/bench_comm_cpu.pbtxt)");
ABSL_FLAG(std::vector<std::string>, set, {},
          "Override a config field, repeatable: --set comm.deadline_s=5 (lists: --set bench.comm.dtypes=[fp32,bf16])");
ABSL_FLAG(std::string, backend, "", "Communicator backend: mpi, nccl or auto (overrides comm.backend)");

namespace kachi {

std::vector<std::string> CollectSetFlags(int* argc, char** argv) {
  std::vector<std::string> values;
  int out = 1;
  int i = 1;
  for (; i < *argc; ++i) {
    const char* arg = argv[i];
    if (std::strcmp(arg, "--") == 0) break;
    absl::string_view view(arg);
    if (!absl::ConsumePrefix(&view, "--")) absl::ConsumePrefix(&view, "-");
    if (view.size() != std::strlen(arg) && (view == "set" || absl::StartsWith(view, "set="))) {
      if (view == "set") {
        if (i + 1 < *argc) values.emplace_back(argv[++i]);
        else values.emplace_back("");  // reported by ApplyOverride as a missing '='
      } else {
        values.emplace_back(view.substr(4));
      }
      continue;
    }
    argv[out++] = argv[i];
  }
  for (; i < *argc; ++i) argv[out++] = argv[i];
  argv[out] = nullptr;
  *argc = out;
  absl::SetFlag(&FLAGS_set, values);
  return values;
}

absl::StatusOr<config::KachiConfig> ConfigFromFlags() {
  std::vector<std::string> overrides = absl::GetFlag(FLAGS_set);
  const std::string backend = absl::AsciiStrToLower(absl::GetFlag(FLAGS_backend));
  if (!backend.empty()) {
    if (backend != "mpi" && backend != "nccl" && backend != "auto") {
      return absl::InvalidArgumentError(
          absl::StrCat("--backend=", backend, " is not a backend; expected mpi, nccl or auto"));
    }
    overrides.push_back(absl::StrCat("comm.backend=", backend));
  }
  return BuildConfig(absl::GetFlag(FLAGS_config), overrides);
}

}  // namespace kachi
