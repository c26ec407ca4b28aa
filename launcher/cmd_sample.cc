// `kachi sample WEIGHTS.safetensors`: generates text from trained weights (written by `kachi train` with
// train.save_weights) on one process: byte-level models print text, others print token ids.
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "launcher/commands.h"
#include "runtime/data/byte_tokenizer.h"
#include "runtime/io/hf_gpt2.h"
#include "runtime/io/safetensors.h"
#include "runtime/model/gpt_model.h"

ABSL_FLAG(std::string, sample_prompt, "", "kachi sample: text the sample continues (byte-level models)");
ABSL_FLAG(int, sample_tokens, 200, "kachi sample: tokens to generate");
ABSL_FLAG(double, sample_temperature, 0.8, "kachi sample: softmax temperature (> 0)");
ABSL_FLAG(uint64_t, sample_seed, 1, "kachi sample: seed of the sampler");

namespace kachi {
namespace {

// Draws a token from softmax(logits / temperature).
int SampleToken(const std::vector<float>& logits, double temperature, std::mt19937_64& gen) {
  double max_logit = logits[0];
  for (float l : logits) max_logit = std::max<double>(max_logit, l);
  std::vector<double> weights(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) weights[i] = std::exp((logits[i] - max_logit) / temperature);
  std::discrete_distribution<int> pick(weights.begin(), weights.end());
  return pick(gen);
}

absl::Status Sample(const std::string& path) {
  const double temperature = absl::GetFlag(FLAGS_sample_temperature);
  const int count = absl::GetFlag(FLAGS_sample_tokens);
  if (temperature <= 0 || count < 0) {
    return absl::InvalidArgumentError("--sample_temperature must be > 0 and --sample_tokens >= 0");
  }
  absl::StatusOr<SafetensorsFile> file = ReadSafetensors(path);
  if (!file.ok()) return file.status();
  absl::StatusOr<GptShape> shape = ShapeFromMetadata(file->metadata());
  if (!shape.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not written by kachi train (", shape.status().message(),
                                                   ")"));
  }
  GptModel model(*shape, nullptr);
  if (auto st = ImportHfGpt2(*file, model.layout(), HfGpt2Options{}, model.params()); !st.ok()) return st;
  const bool bytes = shape->vocab_size == 256;
  std::vector<int32_t> tokens;
  for (uint16_t t : ByteTokenize(absl::GetFlag(FLAGS_sample_prompt))) tokens.push_back(t);
  if (!bytes && !tokens.empty()) {
    return absl::InvalidArgumentError("--sample_prompt needs a byte-level model (vocab_size 256)");
  }
  if (tokens.empty()) tokens.push_back(bytes ? '\n' : 0);
  std::fputs(absl::GetFlag(FLAGS_sample_prompt).c_str(), stdout);
  std::mt19937_64 gen(absl::GetFlag(FLAGS_sample_seed));
  for (int i = 0; i < count; ++i) {
    const int64_t window = std::min<int64_t>(tokens.size(), shape->context);
    absl::StatusOr<std::vector<float>> logits = model.LastLogits(tokens.data() + tokens.size() - window, window);
    if (!logits.ok()) return logits.status();
    const int next = SampleToken(*logits, temperature, gen);
    tokens.push_back(next);
    if (bytes) {
      std::fputc(next, stdout);
    } else {
      std::printf("%d ", next);
    }
  }
  std::fputc('\n', stdout);
  return absl::OkStatus();
}

}  // namespace

int SampleCommand(const std::vector<std::string>& args) {
  if (args.size() != 1) {
    std::fprintf(stderr, "usage: kachi sample WEIGHTS.safetensors [--sample_prompt TEXT] [--sample_tokens N] "
                         "[--sample_temperature T] [--sample_seed S]\n");
    return 2;
  }
  if (absl::Status st = Sample(args[0]); !st.ok()) {
    std::fprintf(stderr, "kachi sample: %s\n", std::string(st.message()).c_str());
    return 1;
  }
  return 0;
}

}  // namespace kachi
