// Element types of the safetensors format ("F32", "BF16", ...): their names in the JSON header, their sizes, and
// conversions of raw little-endian elements to and from float / int64 for the dtypes kachi reads and writes.
#ifndef KACHI_RUNTIME_IO_SAFETENSORS_DTYPE_H_
#define KACHI_RUNTIME_IO_SAFETENSORS_DTYPE_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kachi {

// A safetensors element type. Floating types convert to and from float, integer and bool types to and from int64.
enum class SafetensorsDType : int { kF64, kF32, kBF16, kF16, kI64, kI32, kI16, kI8, kU8, kBool };

// Every SafetensorsDType, in declaration order (for tests that sweep them).
inline constexpr SafetensorsDType kAllSafetensorsDTypes[] = {
    SafetensorsDType::kF64, SafetensorsDType::kF32, SafetensorsDType::kBF16, SafetensorsDType::kF16,
    SafetensorsDType::kI64, SafetensorsDType::kI32, SafetensorsDType::kI16,  SafetensorsDType::kI8,
    SafetensorsDType::kU8,  SafetensorsDType::kBool};

// The header spelling: "F64", "F32", "BF16", "F16", "I64", "I32", "I16", "I8", "U8", "BOOL".
absl::string_view SafetensorsDTypeName(SafetensorsDType dtype);

// Inverse of SafetensorsDTypeName (exact, case-sensitive as the format is). The error names the unknown dtype and
// lists the supported ones.
absl::StatusOr<SafetensorsDType> ParseSafetensorsDType(absl::string_view name);

// Bytes per element.
size_t SafetensorsDTypeSize(SafetensorsDType dtype);

// True for F64, F32, BF16 and F16.
bool IsFloatingDType(SafetensorsDType dtype);

// Element `index` of little-endian `data` of a floating dtype, as float (F64 rounds to nearest).
float LoadFloatElement(const unsigned char* data, SafetensorsDType dtype, size_t index);
// Stores `value` as element `index` of `data` of a floating dtype (BF16/F16 round to nearest even).
void StoreFloatElement(unsigned char* data, SafetensorsDType dtype, size_t index, float value);

// Element `index` of little-endian `data` of an integer or bool dtype, as int64.
int64_t LoadIntElement(const unsigned char* data, SafetensorsDType dtype, size_t index);
// Stores `value` (which must fit the dtype) as element `index` of `data` of an integer or bool dtype.
void StoreIntElement(unsigned char* data, SafetensorsDType dtype, size_t index, int64_t value);

}  // namespace kachi

#endif  // KACHI_RUNTIME_IO_SAFETENSORS_DTYPE_H_
