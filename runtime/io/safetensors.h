// The safetensors file format: an 8-byte little-endian header length N, N bytes of JSON header
// {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ..., "__metadata__": {"key": "value"}}
// padded with spaces to a multiple of 8, then the data buffer; offsets are relative to the buffer's start.
// Reading validates strictly (as the reference implementation does) and every error names the file.
#ifndef KACHI_RUNTIME_IO_SAFETENSORS_H_
#define KACHI_RUNTIME_IO_SAFETENSORS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/io/safetensors_file.h"

namespace kachi {

// Largest header accepted when reading (as the reference implementation: 100 MB).
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

// The file's bytes: tensors stored back to back in name order, the header padded with spaces to 8-byte alignment.
std::string SerializeSafetensors(const SafetensorsFile& file);

// Parses the bytes of a safetensors file; `source` names it in errors. Rejected: fewer than 8 bytes, a header
// length beyond the file or over kMaxSafetensorsHeaderBytes, malformed JSON or entries (missing/unknown keys,
// wrong types, non-string metadata), unknown dtypes, negative dimensions, offsets that are reversed, out of the
// buffer, overlapping, leaving gaps or not covering the buffer, and shape/size mismatches.
absl::StatusOr<SafetensorsFile> ParseSafetensors(absl::string_view bytes, absl::string_view source);

// Serializes `file` and writes it to `path` atomically (temporary file + rename).
absl::Status WriteSafetensors(const std::string& path, const SafetensorsFile& file);

// Reads and parses the safetensors file at `path`.
absl::StatusOr<SafetensorsFile> ReadSafetensors(const std::string& path);

}  // namespace kachi

#endif  // KACHI_RUNTIME_IO_SAFETENSORS_H_
