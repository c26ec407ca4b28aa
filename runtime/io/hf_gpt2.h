// Hugging Face GPT-2 weights <-> a GptModel's tensor-parallel shards. Tensor names are ParameterLayout's
// ("wte.weight", "h.3.attn.c_attn.weight", ...), optionally behind a prefix; shapes are Hugging Face's (Conv1D
// weights transposed, wte without vocabulary padding; see hf_gpt2_tensors.h). The tied LM head is wte alone.
//
// Export is collective over the tensor-parallel group: every rank contributes its shard, tp rank 0 assembles each
// global tensor from all ranks' ParameterSpecs (so the result does not depend on the tp width) and writes the file.
// Import needs no communication: every rank reads the file and takes its own shard.
#ifndef KACHI_RUNTIME_IO_HF_GPT2_H_
#define KACHI_RUNTIME_IO_HF_GPT2_H_

#include <map>
#include <string>

#include "absl/status/status.h"
#include "comm/communicator.h"
#include "runtime/io/safetensors_file.h"
#include "runtime/model/parameter_layout.h"

namespace kachi {

// Naming and storage of the Hugging Face tensors.
struct HfGpt2Options {
  // Prepended to every tensor name: "" for Hugging Face files, "transformer." for a GPT2LMHeadModel state_dict,
  // "param." / "grad." in kachi's PyTorch reference file.
  std::string name_prefix;
  // Element type written by export (F32, BF16, F16 or F64); import accepts any floating dtype.
  SafetensorsDType dtype = SafetensorsDType::kF32;
};

// Collective over `tp` (nullptr for tp = 1; otherwise its rank and size must match the layout's): gathers every
// tensor of `layout` from `local_values` (a flat buffer laid out by `layout`: parameters or gradients) and, on tp
// rank 0, adds them to `out` in Hugging Face form. Other ranks leave `out` untouched. Needs a host-buffer
// communicator (MPI); errors name the tensor.
absl::Status GatherHfGpt2Tensors(const ParameterLayout& layout, const float* local_values, Communicator* tp,
                                 const HfGpt2Options& options, SafetensorsFile* out);

// Collective: GatherHfGpt2Tensors, then tp rank 0 writes `path` (a directory target -- existing, or ending in '/' --
// gets model.safetensors + config.json, see hf_dir.h) atomically with `metadata` plus "format": "pt"
// (which transformers' loader expects) and "kachi.shape". Every rank returns an error if rank 0's write failed.
absl::Status ExportHfGpt2(const ParameterLayout& layout, const float* local_values, Communicator* tp,
                          const std::string& path, const HfGpt2Options& options,
                          const std::map<std::string, std::string>& metadata = {});

// Fills `local_values` (layout.total_size() elements) with this rank's shard of every tensor in `file`. Padded
// vocabulary rows become zero; tensors of the file that the layout does not name (e.g. "h.0.attn.bias" buffers,
// "lm_head.weight") are ignored. Errors: a missing tensor, an integer dtype, or a shape that differs from the
// Hugging Face shape the layout implies (the message names the tensor, expected and found shapes).
absl::Status ImportHfGpt2(const SafetensorsFile& file, const ParameterLayout& layout, const HfGpt2Options& options,
                          float* local_values);

// Reads the weights at `path` (a safetensors file, or a Hugging Face directory: see hf_dir.h), then ImportHfGpt2.
// A directory's config.json must describe the layout's shape; an empty name_prefix becomes "transformer." when the
// file holds GPT2LMHeadModel names; a "lm_head.weight" must equal wte (tied). Errors start with `path`.
absl::Status LoadHfGpt2(const std::string& path, const ParameterLayout& layout, const HfGpt2Options& options,
                        float* local_values);

}  // namespace kachi

#endif  // KACHI_RUNTIME_IO_HF_GPT2_H_
