// Loading and validating kachi's configuration (runtime/proto/config.proto): text-format files with errors that
// name file, line and column; --set overrides (runtime/config/overrides.h) applied on top; semantic checks.
#ifndef KACHI_RUNTIME_CONFIG_CONFIG_H_
#define KACHI_RUNTIME_CONFIG_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "runtime/proto/config.pb.h"

namespace kachi {

// Parses protobuf text format into `message` (any generated message). Syntax errors and unknown fields come back as
// InvalidArgument "<source_name>:<line>:<column>: <problem>" (1-based); unknown fields also list the valid ones.
absl::Status ParseTextProto(absl::string_view text, absl::string_view source_name, google::protobuf::Message* message);

// Parses protobuf text format into a KachiConfig. Syntax errors and unknown fields come back as InvalidArgument
// "<source_name>:<line>:<column>: <problem>" (1-based), and unknown fields also list the valid ones.
absl::StatusOr<config::KachiConfig> ParseConfigText(absl::string_view text, absl::string_view source_name);

// Reads and parses the .pbtxt file at `path` (NotFound when it cannot be read). Does not validate.
absl::StatusOr<config::KachiConfig> LoadConfig(const std::string& path);

// Semantic checks the schema cannot express (deadline_s > 0, byte ranges, known collective and dtype names).
// The error names the field, the value found and what was expected.
absl::Status ValidateConfig(const config::KachiConfig& config);

// The configuration of a run: the file at `path` (defaults when empty), then each "field.sub=value" override in
// order, then ValidateConfig.
absl::StatusOr<config::KachiConfig> BuildConfig(const std::string& path, const std::vector<std::string>& overrides);

}  // namespace kachi

#endif  // KACHI_RUNTIME_CONFIG_CONFIG_H_
