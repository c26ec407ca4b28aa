// Safetensors dtype names, sizes and element conversions (see safetensors_dtype.h). Assumes a little-endian host,
// as the format does (checked at compile time).
#include "runtime/io/safetensors_dtype.h"

#include <cstring>

#include "absl/base/config.h"
#include "absl/strings/str_cat.h"
#include "kernels/base/dtype.h"

namespace kachi {
namespace {

#if !defined(ABSL_IS_LITTLE_ENDIAN)
#error "kachi's safetensors I/O assumes a little-endian host"
#endif

struct DTypeInfo {
  SafetensorsDType dtype;
  absl::string_view name;
  size_t size;
};

constexpr DTypeInfo kInfo[] = {{SafetensorsDType::kF64, "F64", 8},   {SafetensorsDType::kF32, "F32", 4},
                               {SafetensorsDType::kBF16, "BF16", 2}, {SafetensorsDType::kF16, "F16", 2},
                               {SafetensorsDType::kI64, "I64", 8},   {SafetensorsDType::kI32, "I32", 4},
                               {SafetensorsDType::kI16, "I16", 2},   {SafetensorsDType::kI8, "I8", 1},
                               {SafetensorsDType::kU8, "U8", 1},     {SafetensorsDType::kBool, "BOOL", 1}};

const DTypeInfo& Info(SafetensorsDType dtype) { return kInfo[static_cast<int>(dtype)]; }

template <typename T>
T Load(const unsigned char* data, size_t index) {
  T value;
  std::memcpy(&value, data + index * sizeof(T), sizeof(T));
  return value;
}

template <typename T>
void Store(unsigned char* data, size_t index, T value) {
  std::memcpy(data + index * sizeof(T), &value, sizeof(T));
}

}  // namespace

absl::string_view SafetensorsDTypeName(SafetensorsDType dtype) { return Info(dtype).name; }

absl::StatusOr<SafetensorsDType> ParseSafetensorsDType(absl::string_view name) {
  for (const DTypeInfo& info : kInfo) {
    if (info.name == name) return info.dtype;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown safetensors dtype \"", name,
                                                 "\" (supported: F64, F32, BF16, F16, I64, I32, I16, I8, U8, BOOL)"));
}

size_t SafetensorsDTypeSize(SafetensorsDType dtype) { return Info(dtype).size; }

bool IsFloatingDType(SafetensorsDType dtype) {
  return dtype == SafetensorsDType::kF64 || dtype == SafetensorsDType::kF32 || dtype == SafetensorsDType::kBF16 ||
         dtype == SafetensorsDType::kF16;
}

float LoadFloatElement(const unsigned char* data, SafetensorsDType dtype, size_t index) {
  switch (dtype) {
    case SafetensorsDType::kF64:
      return static_cast<float>(Load<double>(data, index));
    case SafetensorsDType::kF32:
      return Load<float>(data, index);
    case SafetensorsDType::kBF16:
      return BFloat16ToFloat(Load<uint16_t>(data, index));
    case SafetensorsDType::kF16:
      return HalfToFloat(Load<uint16_t>(data, index));
    default:
      return 0.0f;  // callers check IsFloatingDType first
  }
}

void StoreFloatElement(unsigned char* data, SafetensorsDType dtype, size_t index, float value) {
  switch (dtype) {
    case SafetensorsDType::kF64:
      Store<double>(data, index, value);
      break;
    case SafetensorsDType::kF32:
      Store<float>(data, index, value);
      break;
    case SafetensorsDType::kBF16:
      Store<uint16_t>(data, index, FloatToBFloat16(value));
      break;
    case SafetensorsDType::kF16:
      Store<uint16_t>(data, index, FloatToHalf(value));
      break;
    default:
      break;  // callers check IsFloatingDType first
  }
}

int64_t LoadIntElement(const unsigned char* data, SafetensorsDType dtype, size_t index) {
  switch (dtype) {
    case SafetensorsDType::kI64:
      return Load<int64_t>(data, index);
    case SafetensorsDType::kI32:
      return Load<int32_t>(data, index);
    case SafetensorsDType::kI16:
      return Load<int16_t>(data, index);
    case SafetensorsDType::kI8:
      return Load<int8_t>(data, index);
    case SafetensorsDType::kU8:
    case SafetensorsDType::kBool:
      return Load<uint8_t>(data, index);
    default:
      return 0;  // callers check !IsFloatingDType first
  }
}

void StoreIntElement(unsigned char* data, SafetensorsDType dtype, size_t index, int64_t value) {
  switch (dtype) {
    case SafetensorsDType::kI64:
      Store<int64_t>(data, index, value);
      break;
    case SafetensorsDType::kI32:
      Store<int32_t>(data, index, static_cast<int32_t>(value));
      break;
    case SafetensorsDType::kI16:
      Store<int16_t>(data, index, static_cast<int16_t>(value));
      break;
    case SafetensorsDType::kI8:
      Store<int8_t>(data, index, static_cast<int8_t>(value));
      break;
    case SafetensorsDType::kU8:
      Store<uint8_t>(data, index, static_cast<uint8_t>(value));
      break;
    case SafetensorsDType::kBool:
      Store<uint8_t>(data, index, value != 0 ? 1 : 0);
      break;
    default:
      break;  // callers check !IsFloatingDType first
  }
}

}  // namespace kachi
