// Command-line overrides of protobuf messages by reflection: "comm.deadline_s=5", "comm.backend=nccl",
// "bench.comm.dtypes=bf16" (appends to a repeated field), "bench.comm.dtypes=[fp32,bf16]" (replaces it; "[]"
// clears it). Works on any message type, so later config sections need no code here.
#ifndef KACHI_RUNTIME_CONFIG_OVERRIDES_H_
#define KACHI_RUNTIME_CONFIG_OVERRIDES_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace kachi {

// Applies one "path.to.field=value" assignment to `message`. Scalars, enums (name, any case, or number), bools
// (true/false/1/0) and strings are parsed from `value`; nested singular messages are walked by the dotted path.
// Errors (InvalidArgument) quote the assignment and name the unknown field with the valid ones, or the value with
// the type expected.
absl::Status ApplyOverride(absl::string_view assignment, google::protobuf::Message* message);

// Applies every assignment in order; stops at the first error.
absl::Status ApplyOverrides(const std::vector<std::string>& assignments, google::protobuf::Message* message);

// Comma-separated names of the fields of `descriptor` ("backend, deadline_s"), for error messages.
std::string FieldNameList(const google::protobuf::Descriptor& descriptor);

}  // namespace kachi

#endif  // KACHI_RUNTIME_CONFIG_OVERRIDES_H_
