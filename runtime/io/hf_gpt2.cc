// Hugging Face GPT-2 export (gather to tp rank 0) and import (each rank takes its shard); see hf_gpt2.h.
#include "runtime/io/hf_gpt2.h"

#include <cstdint>
#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kernels/base/status_macros.h"
#include "runtime/io/atomic_file.h"
#include "runtime/io/hf_dir.h"
#include "runtime/io/hf_gpt2_tensors.h"
#include "runtime/io/safetensors.h"
#include "runtime/io/tensor_shard.h"
#include "runtime/model/gpt_shape.h"

namespace kachi {
namespace {

// Writes `file` to `path`, or, when `path` is a directory target, `path`/model.safetensors plus a config.json for
// `shape` (written last, so a directory with config.json holds complete weights).
absl::Status WriteHfTarget(const std::string& path, const GptShape& shape, const SafetensorsFile& file) {
  if (!IsDirectoryTarget(path)) return WriteSafetensors(path, file);
  std::error_code error;
  std::filesystem::create_directories(path, error);
  if (error) return absl::InternalError(absl::StrCat("cannot create directory '", path, "': ", error.message()));
  KACHI_RETURN_IF_ERROR(WriteSafetensors(path + "/model.safetensors", file));
  return WriteFileAtomically(path + "/config.json", HfGpt2ConfigJson(shape));
}

// Checks that `tp` matches the layout's tensor-parallel position.
absl::Status CheckGroup(const ParameterLayout& layout, const Communicator* tp) {
  const int size = tp ? tp->size() : 1;
  const int rank = tp ? tp->rank() : 0;
  if (size != layout.tp_size() || rank != layout.tp_rank()) {
    return absl::InvalidArgumentError(absl::StrCat("layout is tp rank ", layout.tp_rank(), " of ", layout.tp_size(),
                                                   " but the communicator is rank ", rank, " of ", size));
  }
  if (tp != nullptr && size > 1 && tp->wants_device_buffers()) {
    return absl::FailedPreconditionError(absl::StrCat("Hugging Face export gathers host buffers; the tp communicator '",
                                                      tp->options().name, "' (", tp->backend(),
                                                      ") wants device buffers"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status GatherHfGpt2Tensors(const ParameterLayout& layout, const float* local_values, Communicator* tp,
                                 const HfGpt2Options& options, SafetensorsFile* out) {
  KACHI_RETURN_IF_ERROR(CheckGroup(layout, tp));
  const int tp_size = layout.tp_size();
  std::vector<ParameterLayout> rank_layouts;
  for (int r = 0; r < tp_size; ++r) rank_layouts.emplace_back(layout.shape(), r, tp_size);
  const bool assembles = layout.tp_rank() == 0;
  std::vector<float> gathered;
  for (size_t t = 0; t < layout.tensors().size(); ++t) {
    const ParameterSpec& spec = layout.tensors()[t];
    for (const ParameterLayout& other : rank_layouts) {
      if (other.tensors()[t].size != spec.size) {
        return absl::InternalError(absl::StrCat("tensor ", spec.name, ": shards differ in size across tp ranks (",
                                                spec.size, " here, ", other.tensors()[t].size, " on rank ",
                                                other.tp_rank(), "); AllGather needs equal shards"));
      }
    }
    const float* shard = local_values + spec.offset;
    if (tp_size > 1) {
      gathered.resize(static_cast<size_t>(spec.size) * tp_size);
      if (auto st = tp->AllGather(shard, gathered.data(), spec.size, DType::kFloat32); !st.ok()) {
        return absl::Status(st.code(), absl::StrCat("gathering tensor ", spec.name, ": ", st.message()));
      }
    }
    if (!assembles) continue;
    std::vector<float> global(GlobalElementCount(spec), 0.0f);
    for (int r = 0; r < tp_size; ++r) {
      const float* rank_shard = tp_size > 1 ? gathered.data() + static_cast<size_t>(r) * spec.size : shard;
      AssembleGlobal(rank_layouts[r].tensors()[t], rank_shard, global.data());
    }
    const int index = static_cast<int>(t);
    if (auto st = out->AddFloats(options.name_prefix + spec.name, HfShapeOf(layout, index),
                                 KachiGlobalToHf(layout, index, global.data()), options.dtype);
        !st.ok()) {
      return st;
    }
  }
  return absl::OkStatus();
}

absl::Status ExportHfGpt2(const ParameterLayout& layout, const float* local_values, Communicator* tp,
                          const std::string& path, const HfGpt2Options& options,
                          const std::map<std::string, std::string>& metadata) {
  SafetensorsFile file;
  KACHI_RETURN_IF_ERROR(GatherHfGpt2Tensors(layout, local_values, tp, options, &file));
  absl::Status write_status = absl::OkStatus();
  if (layout.tp_rank() == 0) {
    file.mutable_metadata() = metadata;
    file.mutable_metadata()["format"] = "pt";
    file.mutable_metadata()["kachi.shape"] = DescribeShape(layout.shape());
    write_status = WriteHfTarget(path, layout.shape(), file);
  }
  if (tp == nullptr || tp->size() == 1) return write_status;
  int32_t failed = write_status.ok() ? 0 : 1;
  KACHI_RETURN_IF_ERROR(tp->Broadcast(&failed, 1, DType::kInt32, 0));
  if (layout.tp_rank() == 0) return write_status;
  if (failed != 0) return absl::InternalError(absl::StrCat("tp rank 0 could not write '", path, "' (see its error)"));
  return absl::OkStatus();
}

absl::Status ImportHfGpt2(const SafetensorsFile& file, const ParameterLayout& layout, const HfGpt2Options& options,
                          float* local_values) {
  for (size_t t = 0; t < layout.tensors().size(); ++t) {
    const ParameterSpec& spec = layout.tensors()[t];
    const int index = static_cast<int>(t);
    const std::string name = options.name_prefix + spec.name;
    const SafetensorsTensor* tensor = file.Find(name);
    if (tensor == nullptr) {
      return absl::NotFoundError(absl::StrCat("Hugging Face GPT-2 import: tensor \"", name, "\" is missing (model ",
                                              DescribeShape(layout.shape()), ")"));
    }
    const std::vector<int64_t> expected = HfShapeOf(layout, index);
    if (tensor->shape != expected) {
      return absl::InvalidArgumentError(absl::StrCat("Hugging Face GPT-2 import: tensor \"", name, "\" has shape ",
                                                     ShapeString(tensor->shape), ", expected ", ShapeString(expected),
                                                     " for model ", DescribeShape(layout.shape())));
    }
    absl::StatusOr<std::vector<float>> values = file.Floats(name);
    if (!values.ok()) return values.status();
    const std::vector<float> global = HfToKachiGlobal(layout, index, *values);
    ExtractLocal(spec, global.data(), local_values + spec.offset);
  }
  return absl::OkStatus();
}

absl::Status LoadHfGpt2(const std::string& path, const ParameterLayout& layout, const HfGpt2Options& options,
                        float* local_values) {
  absl::StatusOr<std::optional<HfGpt2Config>> config = ReadHfGpt2ConfigAt(path);
  if (!config.ok()) return config.status();
  if (config->has_value()) {
    const GptShape want = ShapeOfHfConfig(**config);
    const GptShape& have = layout.shape();
    if (want.layers != have.layers || want.heads != have.heads || want.width != have.width ||
        want.vocab_size != have.vocab_size || want.context != have.context) {
      return absl::InvalidArgumentError(absl::StrCat(path, "/config.json describes ", DescribeShape(want),
                                                     ", the model is ", DescribeShape(have)));
    }
  }
  absl::StatusOr<SafetensorsFile> file = ReadHfWeights(path);
  if (!file.ok()) return file.status();
  HfGpt2Options resolved = options;
  if (resolved.name_prefix.empty()) resolved.name_prefix = DetectHfGpt2Prefix(*file);
  absl::Status st = CheckTiedLmHead(*file, resolved.name_prefix + "wte.weight");
  if (st.ok()) st = ImportHfGpt2(*file, layout, resolved, local_values);
  if (!st.ok()) return absl::Status(st.code(), absl::StrCat(path, ": ", st.message()));
  return absl::OkStatus();
}

}  // namespace kachi
