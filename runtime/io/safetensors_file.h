// SafetensorsFile: the contents of a safetensors file in memory (named tensors with dtype, shape and raw
// little-endian bytes, plus the string-to-string "__metadata__"), with typed adders and readers that convert
// between the file's dtype and float / int64. Serialization lives in safetensors.h.
#ifndef KACHI_RUNTIME_IO_SAFETENSORS_FILE_H_
#define KACHI_RUNTIME_IO_SAFETENSORS_FILE_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "runtime/io/safetensors_dtype.h"

namespace kachi {

// The reserved header key holding the metadata; no tensor may use it.
inline constexpr absl::string_view kSafetensorsMetadataKey = "__metadata__";

// One tensor: element type, shape (empty for a scalar) and its raw little-endian bytes.
struct SafetensorsTensor {
  SafetensorsDType dtype = SafetensorsDType::kF32;
  std::vector<int64_t> shape;
  std::string bytes;
};

// Number of elements of `shape` (1 for a scalar), or an error if a dimension is negative or the count overflows.
absl::StatusOr<int64_t> ShapeElementCount(const std::vector<int64_t>& shape);

// "[4, 32]" (or "[]" for a scalar), for messages.
std::string ShapeString(const std::vector<int64_t>& shape);

// Named tensors plus metadata, ordered by name.
class SafetensorsFile {
 public:
  // Adds tensor `name` holding `bytes` (which must be exactly elements(shape) * dtype size). Errors: the name is
  // empty, reserved or already present; a bad shape; a byte-count mismatch (naming expected and found).
  absl::Status Add(const std::string& name, SafetensorsDType dtype, std::vector<int64_t> shape,
                   absl::string_view bytes);
  // Adds `values` converted to the floating `dtype` (F64, F32, BF16 or F16); values.size() must match the shape.
  absl::Status AddFloats(const std::string& name, std::vector<int64_t> shape, absl::Span<const float> values,
                         SafetensorsDType dtype = SafetensorsDType::kF32);
  // Adds `values` converted to the integer or bool `dtype`; each value must fit it.
  absl::Status AddInts(const std::string& name, std::vector<int64_t> shape, absl::Span<const int64_t> values,
                       SafetensorsDType dtype = SafetensorsDType::kI64);

  // The tensor named `name`, or nullptr.
  const SafetensorsTensor* Find(absl::string_view name) const;
  // Tensor `name` as floats (from any floating dtype). Errors: missing tensor, or an integer dtype.
  absl::StatusOr<std::vector<float>> Floats(absl::string_view name) const;
  // Tensor `name` as int64 (from any integer or bool dtype). Errors: missing tensor, or a floating dtype.
  absl::StatusOr<std::vector<int64_t>> Ints(absl::string_view name) const;

  // Every tensor, by name.
  const std::map<std::string, SafetensorsTensor, std::less<>>& tensors() const { return tensors_; }
  // The header's "__metadata__" (written only when non-empty).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  std::map<std::string, std::string>& mutable_metadata() { return metadata_; }

 private:
  // The tensor named `name` or a NotFound error that lists how many tensors exist.
  absl::StatusOr<const SafetensorsTensor*> Get(absl::string_view name) const;

  std::map<std::string, SafetensorsTensor, std::less<>> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace kachi

#endif  // KACHI_RUNTIME_IO_SAFETENSORS_FILE_H_
