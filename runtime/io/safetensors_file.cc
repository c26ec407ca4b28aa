// SafetensorsFile: typed adders and readers over raw tensor bytes (see safetensors_file.h).
#include "runtime/io/safetensors_file.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace kachi {
namespace {

// The [min, max] representable by integer or bool dtype `dtype`.
void IntRange(SafetensorsDType dtype, int64_t& lo, int64_t& hi) {
  switch (dtype) {
    case SafetensorsDType::kI32:
      lo = std::numeric_limits<int32_t>::min();
      hi = std::numeric_limits<int32_t>::max();
      return;
    case SafetensorsDType::kI16:
      lo = std::numeric_limits<int16_t>::min();
      hi = std::numeric_limits<int16_t>::max();
      return;
    case SafetensorsDType::kI8:
      lo = std::numeric_limits<int8_t>::min();
      hi = std::numeric_limits<int8_t>::max();
      return;
    case SafetensorsDType::kU8:
      lo = 0;
      hi = 255;
      return;
    case SafetensorsDType::kBool:
      lo = 0;
      hi = 1;
      return;
    default:
      lo = std::numeric_limits<int64_t>::min();
      hi = std::numeric_limits<int64_t>::max();
  }
}

}  // namespace

absl::StatusOr<int64_t> ShapeElementCount(const std::vector<int64_t>& shape) {
  int64_t count = 1;
  for (const int64_t dim : shape) {
    if (dim < 0)
      return absl::InvalidArgumentError(absl::StrCat("shape ", ShapeString(shape), " has a negative dimension"));
    if (dim != 0 && count > std::numeric_limits<int64_t>::max() / 8 / dim) {
      return absl::InvalidArgumentError(absl::StrCat("shape ", ShapeString(shape), " has too many elements"));
    }
    count *= dim;
  }
  return count;
}

std::string ShapeString(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

absl::Status SafetensorsFile::Add(const std::string& name, SafetensorsDType dtype, std::vector<int64_t> shape,
                                  absl::string_view bytes) {
  if (name.empty()) return absl::InvalidArgumentError("a safetensors tensor name must not be empty");
  if (name == kSafetensorsMetadataKey) {
    return absl::InvalidArgumentError(absl::StrCat("tensor name \"", name, "\" is reserved for the metadata"));
  }
  if (tensors_.count(name) != 0) {
    return absl::AlreadyExistsError(absl::StrCat("tensor \"", name, "\" was already added"));
  }
  absl::StatusOr<int64_t> count = ShapeElementCount(shape);
  if (!count.ok()) return absl::InvalidArgumentError(absl::StrCat("tensor \"", name, "\": ", count.status().message()));
  const uint64_t expected = static_cast<uint64_t>(*count) * SafetensorsDTypeSize(dtype);
  if (bytes.size() != expected) {
    return absl::InvalidArgumentError(absl::StrCat("tensor \"", name, "\" of dtype ", SafetensorsDTypeName(dtype),
                                                   " and shape ", ShapeString(shape), " needs ", expected,
                                                   " bytes, found ", bytes.size()));
  }
  SafetensorsTensor& tensor = tensors_[name];
  tensor.dtype = dtype;
  tensor.shape = std::move(shape);
  tensor.bytes = std::string(bytes);
  return absl::OkStatus();
}

absl::Status SafetensorsFile::AddFloats(const std::string& name, std::vector<int64_t> shape,
                                        absl::Span<const float> values, SafetensorsDType dtype) {
  if (!IsFloatingDType(dtype)) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor \"", name, "\": AddFloats needs a floating dtype, found ", SafetensorsDTypeName(dtype)));
  }
  std::string bytes(values.size() * SafetensorsDTypeSize(dtype), '\0');
  auto* data = reinterpret_cast<unsigned char*>(bytes.data());
  for (size_t i = 0; i < values.size(); ++i) StoreFloatElement(data, dtype, i, values[i]);
  return Add(name, dtype, std::move(shape), bytes);
}

absl::Status SafetensorsFile::AddInts(const std::string& name, std::vector<int64_t> shape,
                                      absl::Span<const int64_t> values, SafetensorsDType dtype) {
  if (IsFloatingDType(dtype)) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor \"", name, "\": AddInts needs an integer dtype, found ", SafetensorsDTypeName(dtype)));
  }
  int64_t lo, hi;
  IntRange(dtype, lo, hi);
  std::string bytes(values.size() * SafetensorsDTypeSize(dtype), '\0');
  auto* data = reinterpret_cast<unsigned char*>(bytes.data());
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i] < lo || values[i] > hi) {
      return absl::OutOfRangeError(absl::StrCat("tensor \"", name, "\": value ", values[i], " at index ", i,
                                                " does not fit dtype ", SafetensorsDTypeName(dtype), " [", lo, ", ", hi,
                                                "]"));
    }
    StoreIntElement(data, dtype, i, values[i]);
  }
  return Add(name, dtype, std::move(shape), bytes);
}

const SafetensorsTensor* SafetensorsFile::Find(absl::string_view name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

absl::StatusOr<const SafetensorsTensor*> SafetensorsFile::Get(absl::string_view name) const {
  const SafetensorsTensor* tensor = Find(name);
  if (tensor == nullptr) {
    return absl::NotFoundError(absl::StrCat("no tensor named \"", name, "\" among the ", tensors_.size(), " tensors"));
  }
  return tensor;
}

absl::StatusOr<std::vector<float>> SafetensorsFile::Floats(absl::string_view name) const {
  absl::StatusOr<const SafetensorsTensor*> tensor = Get(name);
  if (!tensor.ok()) return tensor.status();
  const SafetensorsDType dtype = (*tensor)->dtype;
  if (!IsFloatingDType(dtype)) {
    return absl::InvalidArgumentError(absl::StrCat("tensor \"", name, "\" has dtype ", SafetensorsDTypeName(dtype),
                                                   ", expected a floating dtype (F64, F32, BF16, F16)"));
  }
  const size_t count = (*tensor)->bytes.size() / SafetensorsDTypeSize(dtype);
  const auto* data = reinterpret_cast<const unsigned char*>((*tensor)->bytes.data());
  std::vector<float> values(count);
  for (size_t i = 0; i < count; ++i) values[i] = LoadFloatElement(data, dtype, i);
  return values;
}

absl::StatusOr<std::vector<int64_t>> SafetensorsFile::Ints(absl::string_view name) const {
  absl::StatusOr<const SafetensorsTensor*> tensor = Get(name);
  if (!tensor.ok()) return tensor.status();
  const SafetensorsDType dtype = (*tensor)->dtype;
  if (IsFloatingDType(dtype)) {
    return absl::InvalidArgumentError(absl::StrCat("tensor \"", name, "\" has dtype ", SafetensorsDTypeName(dtype),
                                                   ", expected an integer dtype (I64, I32, I16, I8, U8, BOOL)"));
  }
  const size_t count = (*tensor)->bytes.size() / SafetensorsDTypeSize(dtype);
  const auto* data = reinterpret_cast<const unsigned char*>((*tensor)->bytes.data());
  std::vector<int64_t> values(count);
  for (size_t i = 0; i < count; ++i) values[i] = LoadIntElement(data, dtype, i);
  return values;
}

}  // namespace kachi
