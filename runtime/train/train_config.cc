// KachiConfig -> TrainOptions (see train_config.h).
#include "runtime/train/train_config.h"

#include <algorithm>
#include <numeric>
#include <optional>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "kernels/base/status_macros.h"
#include "runtime/train/config_bounds.h"
#include "runtime/io/hf_dir.h"

namespace kachi {
namespace {

// The head size kachi's CUDA flash attention takes (kernels/attention_cuda.h).
constexpr int64_t kCudaHeadSize = 64;

}  // namespace

absl::StatusOr<GptShape> ShapeFromConfig(const config::ModelConfig& model, int tp) {
  config::KachiConfig bounded;  // a set size out of bounds is refused, never replaced by the preset's
  *bounded.mutable_model() = model;
  KACHI_RETURN_IF_ERROR(CheckConfigBounds(bounded));
  GptShape shape;
  if (!model.preset().empty()) {
    absl::StatusOr<GptShape> preset = GptPreset(model.preset());
    if (!preset.ok()) return absl::InvalidArgumentError(absl::StrCat("model.preset: ", preset.status().message()));
    shape = *preset;
  }
  // A Hugging Face directory in init_from: its config.json gives every size the model section leaves unset, and
  // must agree with those it sets.
  absl::StatusOr<std::optional<HfGpt2Config>> hf = ReadHfGpt2ConfigAt(model.init_from());
  if (!hf.ok()) return absl::InvalidArgumentError(absl::StrCat("model.init_from: ", hf.status().message()));
  if (hf->has_value()) {
    const GptShape from = ShapeOfHfConfig(**hf);
    for (auto [name, set, found] : {std::tuple<const char*, int64_t, int64_t>{"layers", model.layers(), from.layers},
                                    {"heads", model.heads(), from.heads}, {"width", model.width(), from.width},
                                    {"vocab_size", model.vocab_size(), from.vocab_size},
                                    {"context", model.context(), from.context}}) {
      if (set > 0 && set != found) {
        return absl::InvalidArgumentError(absl::StrCat("model.", name, " = ", set, " but ", model.init_from(),
                                                       "/config.json says ", found));
      }
    }
    shape = from;
  }
  if (model.layers() > 0) shape.layers = model.layers();
  if (model.heads() > 0) shape.heads = model.heads();
  if (model.width() > 0) shape.width = model.width();
  if (model.context() > 0) shape.context = model.context();
  if (model.vocab_size() > 0) shape.vocab_size = model.vocab_size();
  // Pad the vocabulary to the requested multiple (preset's padding otherwise) and to the tensor-parallel width.
  int64_t multiple = model.vocab_multiple() > 0 ? model.vocab_multiple() : 1;
  multiple = std::lcm<int64_t>(multiple, tp);
  const int64_t base = model.vocab_multiple() > 0 || model.vocab_size() > 0 ? shape.vocab_size
                                                                            : std::max(shape.padded_vocab, shape.vocab_size);
  shape.padded_vocab = PadVocab(base, multiple);
  if (auto st = ValidateShape(shape, tp); !st.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("model: ", st.message()));
  }
  return shape;
}

absl::StatusOr<ParallelLayout> LayoutFromConfig(const config::KachiConfig& config, int world_size) {
  const config::ParallelConfig& parallel = config.parallel();
  ParallelLayout layout;
  layout.tp = parallel.tp();
  layout.zero1 = parallel.zero1();
  if (layout.tp <= 0 || world_size % layout.tp != 0) {
    return absl::InvalidArgumentError(absl::StrCat("parallel.tp = ", parallel.tp(), " must be positive and divide the ",
                                                   world_size, " ranks of the job"));
  }
  layout.dp = world_size / layout.tp;
  if (parallel.dp() > 0 && parallel.dp() != layout.dp) {
    return absl::InvalidArgumentError(absl::StrCat("parallel.dp = ", parallel.dp(), " x parallel.tp = ", layout.tp,
                                                   " does not match the ", world_size, " ranks of the job"));
  }
  return layout;
}

absl::StatusOr<TrainOptions> TrainOptionsFromConfig(const config::KachiConfig& config, const ParallelLayout& layout) {
  KACHI_RETURN_IF_ERROR(CheckConfigBounds(config));
  KACHI_ASSIGN_OR_RETURN(GptShape shape, ShapeFromConfig(config.model(), layout.tp));
  KACHI_RETURN_IF_ERROR(CheckMemoryFits(shape, layout.tp, layout.dp, layout.zero1, config.train()));
  const config::TrainConfig& train = config.train();
  const config::OptimizerConfig& opt = config.optimizer();
  TrainOptions options;
  options.shape = shape;
  options.init_seed = config.model().init_seed();
  options.train_pattern = config.data().train();
  options.val_pattern = config.data().val();
  options.data_seed = config.data().seed();
  options.seq_len = train.seq_len();
  options.global_batch = train.global_batch();
  options.micro_batch = train.micro_batch();
  options.steps = train.steps();
  options.eval_every = train.eval_every();
  options.eval_windows = train.eval_windows();
  options.log_every = train.log_every();
  options.metrics_path = train.metrics();
  options.tensorboard_dir = train.tensorboard_dir();
  options.kernels = train.kernels();
  options.precision = train.precision();
  options.activation_recompute = train.activation_recompute();
  options.schedule = LrSchedule{opt.lr(), opt.warmup_steps(), train.steps(), opt.min_lr_fraction()};
  options.adamw = AdamWOptions{opt.beta1(), opt.beta2(), opt.eps(), opt.weight_decay(), opt.grad_clip()};
  options.bucket_bytes = config.parallel().bucket_bytes();
  options.zero1 = layout.zero1;
  if (config.parallel().has_overlap_grad_reduce()) {
    options.overlap_grad_reduce = config.parallel().overlap_grad_reduce();
  }
  if (options.train_pattern.empty()) {
    return absl::InvalidArgumentError("data.train is empty: set it to a glob of token shards (see `kachi data`)");
  }
  if (options.seq_len <= 0 || options.seq_len > shape.context) {
    return absl::InvalidArgumentError(
        absl::StrCat("train.seq_len = ", options.seq_len, " must be in [1, model context = ", shape.context, "]"));
  }
  if (options.micro_batch <= 0 || options.global_batch % (options.micro_batch * layout.dp) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("train.global_batch = ", options.global_batch,
                                                   " must be a multiple of train.micro_batch (", options.micro_batch,
                                                   ") x dp (", layout.dp, ")"));
  }
  if (options.eval_windows > 0 && options.eval_windows % (options.micro_batch * layout.dp) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("train.eval_windows = ", options.eval_windows,
                                                   " must be a multiple of train.micro_batch (", options.micro_batch,
                                                   ") x dp (", layout.dp, ")"));
  }
  if (opt.lr() <= 0 || opt.warmup_steps() < 0 || opt.beta1() < 0 || opt.beta1() >= 1 || opt.beta2() < 0 ||
      opt.beta2() >= 1 || opt.eps() <= 0) {
    return absl::InvalidArgumentError(
        "optimizer: lr and eps must be > 0, warmup_steps >= 0, betas in [0, 1)");
  }
  return options;
}

DefaultKernelsChoice DefaultKernels(const config::KachiConfig& config, bool every_rank_has_gpu) {
  if (!every_rank_has_gpu) return {"cpu", "no GPU bound on every rank"};
  absl::StatusOr<GptShape> shape = ShapeFromConfig(config.model(), std::max(1, config.parallel().tp()));
  if (!shape.ok()) return {"cpu", "model shape unresolved"};
  if (shape->head_size() != kCudaHeadSize) {
    return {"cpu", absl::StrCat("GPU bound, but head size ", shape->head_size(), " (the CUDA kernels need ",
                                kCudaHeadSize, ")")};
  }
  return {"cuda", "GPU bound on every rank"};
}

}  // namespace kachi
