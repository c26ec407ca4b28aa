// Safetensors serialization and strict parsing (see safetensors.h).
#include "runtime/io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/io/atomic_file.h"
#include "runtime/io/header_json.h"

namespace kachi {
namespace {

// A tensor entry of the header, before its data is sliced out.
struct HeaderEntry {
  std::string name;
  SafetensorsDType dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0;
  uint64_t end = 0;
};

absl::Status FileError(absl::string_view source, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("safetensors file '", source, "': ", message));
}

// A JSON array of non-negative integers (a shape or data_offsets).
absl::StatusOr<std::vector<int64_t>> NonNegativeIntegers(const JsonValue& value, absl::string_view what) {
  if (value.kind != JsonValue::Kind::kArray) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " must be an array of integers, found JSON ", JsonKindName(value.kind)));
  }
  std::vector<int64_t> out;
  for (const JsonValue& element : value.elements) {
    if (element.kind != JsonValue::Kind::kInteger || element.integer < 0) {
      return absl::InvalidArgumentError(absl::StrCat(what, " must hold non-negative integers, found ",
                                                     element.kind == JsonValue::Kind::kInteger
                                                         ? absl::StrCat(element.integer)
                                                         : absl::StrCat("JSON ", JsonKindName(element.kind))));
    }
    out.push_back(element.integer);
  }
  return out;
}

// One "name": {dtype, shape, data_offsets} entry; errors name the tensor.
absl::StatusOr<HeaderEntry> ParseEntry(const std::string& name, const JsonValue& value) {
  auto entry_error = [&](absl::string_view message) {
    return absl::InvalidArgumentError(absl::StrCat("tensor \"", name, "\": ", message));
  };
  if (value.kind != JsonValue::Kind::kObject) {
    return entry_error(absl::StrCat("entry must be an object, found JSON ", JsonKindName(value.kind)));
  }
  for (const auto& [key, member] : value.members) {
    if (key != "dtype" && key != "shape" && key != "data_offsets") {
      return entry_error(absl::StrCat("unknown key \"", key, "\" (expected dtype, shape, data_offsets)"));
    }
  }
  const JsonValue* dtype = value.Find("dtype");
  const JsonValue* shape = value.Find("shape");
  const JsonValue* offsets = value.Find("data_offsets");
  if (dtype == nullptr || shape == nullptr || offsets == nullptr) {
    return entry_error("entry must have dtype, shape and data_offsets");
  }
  if (dtype->kind != JsonValue::Kind::kString) {
    return entry_error(absl::StrCat("dtype must be a string, found JSON ", JsonKindName(dtype->kind)));
  }
  HeaderEntry entry;
  entry.name = name;
  absl::StatusOr<SafetensorsDType> parsed_dtype = ParseSafetensorsDType(dtype->text);
  if (!parsed_dtype.ok()) return entry_error(parsed_dtype.status().message());
  entry.dtype = *parsed_dtype;
  absl::StatusOr<std::vector<int64_t>> dims = NonNegativeIntegers(*shape, "shape");
  if (!dims.ok()) return entry_error(dims.status().message());
  entry.shape = *std::move(dims);
  absl::StatusOr<std::vector<int64_t>> range = NonNegativeIntegers(*offsets, "data_offsets");
  if (!range.ok()) return entry_error(range.status().message());
  if (range->size() != 2) {
    return entry_error(absl::StrCat("data_offsets must hold 2 integers [begin, end], found ", range->size()));
  }
  entry.begin = static_cast<uint64_t>((*range)[0]);
  entry.end = static_cast<uint64_t>((*range)[1]);
  if (entry.end < entry.begin) {
    return entry_error(absl::StrCat("data_offsets [", entry.begin, ", ", entry.end, "] end before they begin"));
  }
  absl::StatusOr<int64_t> count = ShapeElementCount(entry.shape);
  if (!count.ok()) return entry_error(count.status().message());
  const uint64_t expected = static_cast<uint64_t>(*count) * SafetensorsDTypeSize(entry.dtype);
  if (entry.end - entry.begin != expected) {
    return entry_error(absl::StrCat("shape ", ShapeString(entry.shape), " of dtype ", SafetensorsDTypeName(entry.dtype),
                                    " needs ", expected, " bytes but data_offsets [", entry.begin, ", ", entry.end,
                                    "] span ", entry.end - entry.begin));
  }
  return entry;
}

// The "__metadata__" object: string values only.
absl::Status ParseMetadata(const JsonValue& value, std::map<std::string, std::string>& out) {
  if (value.kind != JsonValue::Kind::kObject) {
    return absl::InvalidArgumentError(
        absl::StrCat("__metadata__ must be an object, found JSON ", JsonKindName(value.kind)));
  }
  for (const auto& [key, member] : value.members) {
    if (member.kind != JsonValue::Kind::kString) {
      return absl::InvalidArgumentError(
          absl::StrCat("__metadata__ value of \"", key, "\" must be a string, found JSON ", JsonKindName(member.kind)));
    }
    out[key] = member.text;
  }
  return absl::OkStatus();
}

// Checks that the entries, sorted by offset, tile [0, buffer_size) exactly.
absl::Status CheckTiling(std::vector<const HeaderEntry*> entries, uint64_t buffer_size) {
  std::sort(entries.begin(), entries.end(), [](const HeaderEntry* a, const HeaderEntry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t covered = 0;
  const HeaderEntry* previous = nullptr;
  for (const HeaderEntry* entry : entries) {
    if (entry->end > buffer_size) {
      return absl::InvalidArgumentError(absl::StrCat("tensor \"", entry->name, "\": data_offsets [", entry->begin, ", ",
                                                     entry->end, "] are out of range of the ", buffer_size,
                                                     "-byte data buffer"));
    }
    if (entry->begin < covered) {
      return absl::InvalidArgumentError(absl::StrCat("tensor \"", entry->name, "\": data_offsets [", entry->begin, ", ",
                                                     entry->end, "] overlap tensor \"", previous->name, "\" [",
                                                     previous->begin, ", ", previous->end, "]"));
    }
    if (entry->begin > covered) {
      return absl::InvalidArgumentError(absl::StrCat("data buffer bytes [", covered, ", ", entry->begin,
                                                     ") belong to no tensor (before tensor \"", entry->name, "\")"));
    }
    covered = entry->end;
    previous = entry;
  }
  if (covered != buffer_size) {
    return absl::InvalidArgumentError(absl::StrCat("data buffer is ", buffer_size, " bytes but its tensors cover ",
                                                   covered, " (trailing bytes belong to no tensor)"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string SerializeSafetensors(const SafetensorsFile& file) {
  std::vector<std::string> entries;
  if (!file.metadata().empty()) {
    std::vector<std::string> pairs;
    for (const auto& [key, value] : file.metadata())
      pairs.push_back(absl::StrCat(JsonQuote(key), ":", JsonQuote(value)));
    entries.push_back(absl::StrCat(JsonQuote(kSafetensorsMetadataKey), ":{", absl::StrJoin(pairs, ","), "}"));
  }
  uint64_t offset = 0;
  for (const auto& [name, tensor] : file.tensors()) {
    const uint64_t end = offset + tensor.bytes.size();
    entries.push_back(absl::StrCat(JsonQuote(name), ":{\"dtype\":", JsonQuote(SafetensorsDTypeName(tensor.dtype)),
                                   ",\"shape\":[", absl::StrJoin(tensor.shape, ","), "],\"data_offsets\":[", offset,
                                   ",", end, "]}"));
    offset = end;
  }
  std::string header = absl::StrCat("{", absl::StrJoin(entries, ","), "}");
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  const uint64_t header_size = header.size();
  std::memcpy(out.data(), &header_size, 8);  // little-endian host (checked in safetensors_dtype.cc)
  out.reserve(8 + header.size() + offset);
  out += header;
  for (const auto& [name, tensor] : file.tensors()) out += tensor.bytes;
  return out;
}

absl::StatusOr<SafetensorsFile> ParseSafetensors(absl::string_view bytes, absl::string_view source) {
  if (bytes.size() < 8) {
    return FileError(source, absl::StrCat("is ", bytes.size(), " bytes, shorter than the 8-byte header length"));
  }
  uint64_t header_size = 0;
  std::memcpy(&header_size, bytes.data(), 8);
  if (header_size > kMaxSafetensorsHeaderBytes) {
    return FileError(source, absl::StrCat("header length ", header_size, " exceeds the ", kMaxSafetensorsHeaderBytes,
                                          "-byte limit (not a safetensors file?)"));
  }
  if (header_size > bytes.size() - 8) {
    return FileError(source, absl::StrCat("header length ", header_size, " exceeds the ", bytes.size() - 8,
                                          " bytes after the length field"));
  }
  const absl::string_view header = bytes.substr(8, header_size);
  if (header.empty() || header[0] != '{') {
    return FileError(source, "header does not start with '{' (not a safetensors file?)");
  }
  absl::StatusOr<JsonValue> json = ParseHeaderJson(header);
  if (!json.ok()) return FileError(source, json.status().message());
  if (json->kind != JsonValue::Kind::kObject) {
    return FileError(source, absl::StrCat("header must be a JSON object, found JSON ", JsonKindName(json->kind)));
  }

  SafetensorsFile file;
  std::vector<HeaderEntry> entries;
  for (const auto& [name, value] : json->members) {
    if (name == kSafetensorsMetadataKey) {
      if (auto st = ParseMetadata(value, file.mutable_metadata()); !st.ok()) return FileError(source, st.message());
      continue;
    }
    absl::StatusOr<HeaderEntry> entry = ParseEntry(name, value);
    if (!entry.ok()) return FileError(source, entry.status().message());
    entries.push_back(*std::move(entry));
  }
  const absl::string_view buffer = bytes.substr(8 + header_size);
  std::vector<const HeaderEntry*> pointers;
  for (const HeaderEntry& entry : entries) pointers.push_back(&entry);
  if (auto st = CheckTiling(pointers, buffer.size()); !st.ok()) return FileError(source, st.message());
  for (HeaderEntry& entry : entries) {
    const absl::string_view data = buffer.substr(entry.begin, entry.end - entry.begin);
    if (auto st = file.Add(entry.name, entry.dtype, std::move(entry.shape), data); !st.ok()) {
      return FileError(source, st.message());
    }
  }
  return file;
}

absl::Status WriteSafetensors(const std::string& path, const SafetensorsFile& file) {
  return WriteFileAtomically(path, SerializeSafetensors(file));
}

absl::StatusOr<SafetensorsFile> ReadSafetensors(const std::string& path) {
  absl::StatusOr<std::string> bytes = ReadWholeFile(path);
  if (!bytes.ok()) return bytes.status();
  return ParseSafetensors(*bytes, path);
}

}  // namespace kachi
