// Reflection-driven "field.sub=value" overrides (see overrides.h).
#include "runtime/config/overrides.h"

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/descriptor.h"
#include "kernels/base/status_macros.h"

namespace kachi {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// One parsed element of a scalar field, ready to store (only the member matching the field's type is used).
struct ScalarValue {
  int64_t int_value = 0;
  uint64_t uint_value = 0;
  double double_value = 0;
  bool bool_value = false;
  std::string string_value;
  const EnumValueDescriptor* enum_value = nullptr;
};

// Names of `field`'s enum values ("AUTO, MPI, NCCL").
std::string EnumValueList(const FieldDescriptor& field) {
  std::vector<std::string> names;
  const auto* type = field.enum_type();
  for (int i = 0; i < type->value_count(); ++i) names.push_back(type->value(i)->name());
  return absl::StrJoin(names, ", ");
}

// Parses `text` as a value of `field`'s element type; the error says what was expected.
absl::StatusOr<ScalarValue> ParseScalar(const FieldDescriptor& field, absl::string_view text) {
  ScalarValue out;
  auto expected = [&](absl::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat("value '", text, "' for field ", field.full_name(), " is not ", what));
  };
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: {
      int32_t v;
      if (!absl::SimpleAtoi(text, &v)) return expected("a 32-bit integer");
      out.int_value = v;
      break;
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t v;
      if (!absl::SimpleAtoi(text, &v)) return expected("a 64-bit integer");
      out.int_value = v;
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t v;
      if (absl::StartsWith(text, "-") || !absl::SimpleAtoi(text, &v)) {
        return expected("a non-negative 32-bit integer");
      }
      out.uint_value = v;
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v;
      if (absl::StartsWith(text, "-") || !absl::SimpleAtoi(text, &v)) {
        return expected("a non-negative 64-bit integer");
      }
      out.uint_value = v;
      break;
    }
    case FieldDescriptor::CPPTYPE_FLOAT:
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      double v;
      if (!absl::SimpleAtod(text, &v)) return expected("a number");
      out.double_value = v;
      break;
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      const std::string lower = absl::AsciiStrToLower(text);
      if (lower == "true" || lower == "1") {
        out.bool_value = true;
      } else if (lower == "false" || lower == "0") {
        out.bool_value = false;
      } else {
        return expected("a bool (true, false, 1 or 0)");
      }
      break;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      absl::string_view v = text;
      if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) {
        v = v.substr(1, v.size() - 2);
      }
      out.string_value = std::string(v);
      break;
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const auto* type = field.enum_type();
      for (int i = 0; i < type->value_count(); ++i) {
        if (absl::EqualsIgnoreCase(type->value(i)->name(), text)) out.enum_value = type->value(i);
      }
      int number;
      if (out.enum_value == nullptr && absl::SimpleAtoi(text, &number)) {
        out.enum_value = type->FindValueByNumber(number);
      }
      if (out.enum_value == nullptr) return expected(absl::StrCat("one of ", EnumValueList(field)));
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return absl::InternalError("ParseScalar called on a message field");
  }
  return out;
}

// Stores `value` into singular `field` of `message`.
void SetScalar(Message* message, const FieldDescriptor& field, const ScalarValue& value) {
  const Reflection* r = message->GetReflection();
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: r->SetInt32(message, &field, static_cast<int32_t>(value.int_value)); break;
    case FieldDescriptor::CPPTYPE_INT64: r->SetInt64(message, &field, value.int_value); break;
    case FieldDescriptor::CPPTYPE_UINT32:
      r->SetUInt32(message, &field, static_cast<uint32_t>(value.uint_value));
      break;
    case FieldDescriptor::CPPTYPE_UINT64: r->SetUInt64(message, &field, value.uint_value); break;
    case FieldDescriptor::CPPTYPE_FLOAT:
      r->SetFloat(message, &field, static_cast<float>(value.double_value));
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE: r->SetDouble(message, &field, value.double_value); break;
    case FieldDescriptor::CPPTYPE_BOOL: r->SetBool(message, &field, value.bool_value); break;
    case FieldDescriptor::CPPTYPE_STRING: r->SetString(message, &field, value.string_value); break;
    case FieldDescriptor::CPPTYPE_ENUM: r->SetEnum(message, &field, value.enum_value); break;
    case FieldDescriptor::CPPTYPE_MESSAGE: break;
  }
}

// Appends `value` to repeated `field` of `message`.
void AddScalar(Message* message, const FieldDescriptor& field, const ScalarValue& value) {
  const Reflection* r = message->GetReflection();
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: r->AddInt32(message, &field, static_cast<int32_t>(value.int_value)); break;
    case FieldDescriptor::CPPTYPE_INT64: r->AddInt64(message, &field, value.int_value); break;
    case FieldDescriptor::CPPTYPE_UINT32:
      r->AddUInt32(message, &field, static_cast<uint32_t>(value.uint_value));
      break;
    case FieldDescriptor::CPPTYPE_UINT64: r->AddUInt64(message, &field, value.uint_value); break;
    case FieldDescriptor::CPPTYPE_FLOAT:
      r->AddFloat(message, &field, static_cast<float>(value.double_value));
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE: r->AddDouble(message, &field, value.double_value); break;
    case FieldDescriptor::CPPTYPE_BOOL: r->AddBool(message, &field, value.bool_value); break;
    case FieldDescriptor::CPPTYPE_STRING: r->AddString(message, &field, value.string_value); break;
    case FieldDescriptor::CPPTYPE_ENUM: r->AddEnum(message, &field, value.enum_value); break;
    case FieldDescriptor::CPPTYPE_MESSAGE: break;
  }
}

// Sets (or, for repeated fields, appends to or replaces) `field` from the text after '='.
absl::Status AssignField(Message* message, const FieldDescriptor& field, absl::string_view text) {
  if (!field.is_repeated()) {
    KACHI_ASSIGN_OR_RETURN(auto value, ParseScalar(field, text));
    SetScalar(message, field, value);
    return absl::OkStatus();
  }
  std::vector<ScalarValue> values;
  const bool replace = absl::StartsWith(text, "[") && absl::EndsWith(text, "]");
  if (replace) {
    absl::string_view inner = absl::StripAsciiWhitespace(text.substr(1, text.size() - 2));
    if (!inner.empty()) {
      for (absl::string_view item : absl::StrSplit(inner, ',')) {
        KACHI_ASSIGN_OR_RETURN(auto value, ParseScalar(field, absl::StripAsciiWhitespace(item)));
        values.push_back(std::move(value));
      }
    }
    message->GetReflection()->ClearField(message, &field);
  } else {
    KACHI_ASSIGN_OR_RETURN(auto value, ParseScalar(field, text));
    values.push_back(std::move(value));
  }
  for (const auto& value : values) AddScalar(message, field, value);
  return absl::OkStatus();
}

}  // namespace

std::string FieldNameList(const Descriptor& descriptor) {
  std::vector<std::string> names;
  for (int i = 0; i < descriptor.field_count(); ++i) names.push_back(descriptor.field(i)->name());
  return absl::StrJoin(names, ", ");
}

absl::Status ApplyOverride(absl::string_view assignment, Message* message) {
  const size_t eq = assignment.find('=');
  if (eq == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("override '", assignment, "' has no '=': expected field.sub=value, e.g. comm.deadline_s=5"));
  }
  const absl::string_view path = absl::StripAsciiWhitespace(assignment.substr(0, eq));
  const absl::string_view text = absl::StripAsciiWhitespace(assignment.substr(eq + 1));
  if (path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("override '", assignment, "' has an empty field path"));
  }
  auto fail = [&](const absl::Status& status) {
    return absl::InvalidArgumentError(absl::StrCat("override '", assignment, "': ", status.message()));
  };
  const std::vector<absl::string_view> parts = absl::StrSplit(path, '.');
  Message* current = message;
  for (size_t i = 0; i < parts.size(); ++i) {
    const Descriptor* type = current->GetDescriptor();
    const FieldDescriptor* field = type->FindFieldByName(std::string(parts[i]));
    const std::string so_far = absl::StrJoin(parts.begin(), parts.begin() + i + 1, ".");
    if (field == nullptr) {
      return fail(absl::NotFoundError(absl::StrCat("no field '", so_far, "' (", type->full_name(),
                                                   " has: ", FieldNameList(*type), ")")));
    }
    const bool last = i + 1 == parts.size();
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (last) {
        return fail(absl::InvalidArgumentError(absl::StrCat("'", so_far, "' is a section, not a value; set one of ",
                                                            "its fields: ", FieldNameList(*field->message_type()))));
      }
      if (field->is_repeated()) {
        return fail(absl::InvalidArgumentError(
            absl::StrCat("'", so_far, "' is a repeated section; edit it in the config file instead")));
      }
      current = current->GetReflection()->MutableMessage(current, field);
      continue;
    }
    if (!last) {
      return fail(absl::InvalidArgumentError(absl::StrCat("'", so_far, "' is a value, not a section, so '", path,
                                                          "' does not exist")));
    }
    absl::Status assigned = AssignField(current, *field, text);
    if (!assigned.ok()) return fail(assigned);
  }
  return absl::OkStatus();
}

absl::Status ApplyOverrides(const std::vector<std::string>& assignments, Message* message) {
  for (const auto& assignment : assignments) {
    KACHI_RETURN_IF_ERROR(ApplyOverride(assignment, message));
  }
  return absl::OkStatus();
}

}  // namespace kachi
