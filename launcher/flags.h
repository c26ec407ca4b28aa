// The flags every kachi subcommand shares (--config, --set, --backend) and the run configuration they produce.
// --set is repeatable: main() collects every occurrence with CollectSetFlags before absl parses the rest.
#ifndef KACHI_LAUNCHER_FLAGS_H_
#define KACHI_LAUNCHER_FLAGS_H_

#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/status/statusor.h"
#include "runtime/proto/config.pb.h"

// --config FILE: the run's .pbtxt configuration (defaults when empty).
ABSL_DECLARE_FLAG(std::string, config);
// --set field.sub=value, every occurrence in order (filled by CollectSetFlags).
ABSL_DECLARE_FLAG(std::vector<std::string>, set);
// --backend mpi|nccl|auto: overrides comm.backend when not empty.
ABSL_DECLARE_FLAG(std::string, backend);

namespace kachi {

// Removes every "--set X", "--set=X" (and single-dash forms) from argv, returns the X values in order and stores
// them in FLAGS_set. Stops at "--". `argc` and `argv` are updated in place.
std::vector<std::string> CollectSetFlags(int* argc, char** argv);

// The configuration named by the common flags: --config file (defaults when empty), then each --set, then
// --backend (mpi|nccl|auto, overrides comm.backend), validated. Errors name the flag or file at fault.
absl::StatusOr<config::KachiConfig> ConfigFromFlags();

// Names of the common flags, for `kachi --help`.
inline constexpr const char* kCommonFlagNames[] = {"config", "set", "backend"};

}  // namespace kachi

#endif  // KACHI_LAUNCHER_FLAGS_H_
