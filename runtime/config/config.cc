// Config loading with positioned errors, validation, and the file + overrides + validation pipeline.
#include "runtime/config/config.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "kernels/base/dtype.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "kernels/base/status_macros.h"
#include "runtime/config/overrides.h"

namespace kachi {
namespace {

// Collects the parser's first error as "<source>:<line>:<column>: <message>" (1-based positions).
class PositionedErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  explicit PositionedErrorCollector(absl::string_view source) : source_(source) {}

  void AddError(int line, google::protobuf::io::ColumnNumber column, const std::string& message) override {
    if (!first_error_.empty()) return;
    first_error_ = absl::StrCat(source_, ":", line + 1, ":", column + 1, ": ", message, ValidFieldsHint(message));
  }
  void AddWarning(int line, google::protobuf::io::ColumnNumber column, const std::string& message) override {}

  // Empty when no error was reported.
  const std::string& first_error() const { return first_error_; }

 private:
  // For 'Message type "X" has no field named "y".' returns " (valid fields of X: a, b)"; otherwise "".
  static std::string ValidFieldsHint(const std::string& message) {
    const std::string kPrefix = "Message type \"";
    const size_t start = message.find(kPrefix);
    if (start == std::string::npos || !absl::StrContains(message, "has no field named")) return "";
    const size_t name_begin = start + kPrefix.size();
    const size_t name_end = message.find('"', name_begin);
    if (name_end == std::string::npos) return "";
    const std::string type_name = message.substr(name_begin, name_end - name_begin);
    const auto* type = google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(type_name);
    if (type == nullptr) return "";
    return absl::StrCat(" (valid fields of ", type_name, ": ", FieldNameList(*type), ")");
  }

  std::string source_;
  std::string first_error_;
};

// Names accepted in bench.comm.collectives.
constexpr absl::string_view kBenchCollectives[] = {"all_reduce", "reduce_scatter", "all_gather", "broadcast"};

absl::Status ValidateCommBench(const config::CommBenchConfig& bench) {
  for (const auto& name : bench.collectives()) {
    bool known = false;
    for (absl::string_view candidate : kBenchCollectives) known = known || candidate == name;
    if (!known) {
      return absl::InvalidArgumentError(absl::StrCat("bench.comm.collectives: unknown collective '", name,
                                                     "'; expected one of ", absl::StrJoin(kBenchCollectives, ", ")));
    }
  }
  for (const auto& name : bench.dtypes()) {
    auto dtype = ParseDType(name);
    if (!dtype.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("bench.comm.dtypes: ", dtype.status().message()));
    }
  }
  if (bench.min_bytes() == 0) {
    return absl::InvalidArgumentError("bench.comm.min_bytes is 0; expected at least 1 byte");
  }
  if (bench.min_bytes() > bench.max_bytes()) {
    return absl::InvalidArgumentError(absl::StrCat("bench.comm.min_bytes (", bench.min_bytes(),
                                                   ") is larger than bench.comm.max_bytes (", bench.max_bytes(),
                                                   "); expected min_bytes <= max_bytes"));
  }
  if (bench.step_factor() < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("bench.comm.step_factor is ", bench.step_factor(), "; expected >= 2"));
  }
  if (bench.iters() < 1) {
    return absl::InvalidArgumentError("bench.comm.iters is 0; expected at least 1 timed iteration");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ParseTextProto(absl::string_view text, absl::string_view source_name, google::protobuf::Message* message) {
  google::protobuf::TextFormat::Parser parser;
  PositionedErrorCollector errors(source_name);
  parser.RecordErrorsTo(&errors);
  if (parser.ParseFromString(std::string(text), message)) return absl::OkStatus();
  if (errors.first_error().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source_name, ": not a valid ", message->GetDescriptor()->full_name()));
  }
  return absl::InvalidArgumentError(errors.first_error());
}

absl::StatusOr<config::KachiConfig> ParseConfigText(absl::string_view text, absl::string_view source_name) {
  config::KachiConfig config;
  KACHI_RETURN_IF_ERROR(ParseTextProto(text, source_name, &config));
  return config;
}

absl::StatusOr<config::KachiConfig> LoadConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read config file '", path, "'"));
  std::ostringstream text;
  text << in.rdbuf();
  return ParseConfigText(text.str(), path);
}

absl::Status ValidateConfig(const config::KachiConfig& config) {
  const double deadline = config.comm().deadline_s();
  if (!std::isfinite(deadline) || deadline <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("comm.deadline_s is ", deadline, "; expected a finite number of seconds > 0"));
  }
  return ValidateCommBench(config.bench().comm());
}

absl::StatusOr<config::KachiConfig> BuildConfig(const std::string& path, const std::vector<std::string>& overrides) {
  config::KachiConfig config;
  if (!path.empty()) {
    KACHI_ASSIGN_OR_RETURN(config, LoadConfig(path));
  }
  KACHI_RETURN_IF_ERROR(ApplyOverrides(overrides, &config));
  if (absl::Status status = ValidateConfig(config); !status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path.empty() ? "config" : path, " (after --set overrides): ",
                                                   status.message()));
  }
  return config;
}

}  // namespace kachi
