// `kachi sample WEIGHTS`: generates tokens from any weights whose shape is known (HF directory with config.json,
// safetensors with kachi metadata, kachi checkpoint directory; see cmd_eval_weights.h) on one process.
// Temperature 0 is greedy; --sample_top_k / --sample_top_p truncate the distribution (runtime/sample/). Output goes
// through a TokenDecoder: the BPE tokenizer of --sample_tokenizer (which also encodes --sample_prompt), else bytes
// for byte-level models and ids otherwise.
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "kernels/base/status_macros.h"
#include "launcher/cmd_eval_weights.h"
#include "launcher/commands.h"
#include "runtime/data/bpe_tokenizer.h"
#include "runtime/data/byte_tokenizer.h"
#include "runtime/sample/bpe_decoder.h"
#include "runtime/sample/token_decoder.h"
#include "runtime/sample/token_sampler.h"

ABSL_FLAG(std::string, sample_prompt, "",
          "kachi sample: text the sample continues (byte-level models, or encoded by --sample_tokenizer)");
ABSL_FLAG(std::string, sample_tokenizer, "",
          "kachi sample: byte-level BPE tokenizer (tokenizer.json, or a directory with it or vocab.json + "
          "merges.txt) that encodes the prompt and decodes the sample");
ABSL_FLAG(std::string, sample_prompt_ids, "",
          "kachi sample: comma-separated token ids the sample continues (any vocabulary)");
ABSL_FLAG(int, sample_tokens, 200, "kachi sample: tokens to generate");
ABSL_FLAG(double, sample_temperature, 0.8, "kachi sample: softmax temperature (0 = greedy)");
ABSL_FLAG(int64_t, sample_top_k, 0, "kachi sample: keep the k most likely tokens (0 = all)");
ABSL_FLAG(double, sample_top_p, 1.0, "kachi sample: nucleus sampling, keep the most likely tokens up to probability p");
ABSL_FLAG(uint64_t, sample_seed, 1, "kachi sample: seed of the sampler");
ABSL_FLAG(bool, sample_print_ids, false, "kachi sample: print the generated token ids instead of decoded text");

namespace kachi {
namespace {

// The decoder of generated ids: ids when asked, else the tokenizer's, else the vocabulary's default.
std::unique_ptr<TokenDecoder> MakeDecoder(int64_t vocab_size, const std::shared_ptr<const BpeTokenizer>& tokenizer) {
  if (absl::GetFlag(FLAGS_sample_print_ids)) return std::make_unique<IdDecoder>();
  if (tokenizer != nullptr) return std::make_unique<BpeDecoder>(tokenizer);
  return DefaultDecoder(vocab_size);
}

// The tokenizer of --sample_tokenizer (null when none), checked to fit the model's vocabulary.
absl::StatusOr<std::shared_ptr<const BpeTokenizer>> LoadSampleTokenizer(int64_t vocab_size) {
  const std::string path = absl::GetFlag(FLAGS_sample_tokenizer);
  if (path.empty()) return std::shared_ptr<const BpeTokenizer>();
  KACHI_ASSIGN_OR_RETURN(BpeTokenizer tokenizer, BpeTokenizer::Load(path));
  if (tokenizer.vocab_size() > vocab_size) {
    return absl::InvalidArgumentError(absl::StrCat("--sample_tokenizer ", path, " has ", tokenizer.vocab_size(),
                                                   " tokens, more than the model's vocab_size ", vocab_size));
  }
  return std::make_shared<const BpeTokenizer>(std::move(tokenizer));
}

// The prompt's token ids: --sample_prompt_ids, else --sample_prompt encoded by the tokenizer or as bytes.
absl::StatusOr<std::vector<int32_t>> PromptIds(int64_t vocab_size, const BpeTokenizer* tokenizer) {
  std::vector<int32_t> tokens;
  const std::string ids = absl::GetFlag(FLAGS_sample_prompt_ids);
  const std::string text = absl::GetFlag(FLAGS_sample_prompt);
  if (!ids.empty() && !text.empty()) {
    return absl::InvalidArgumentError("give --sample_prompt or --sample_prompt_ids, not both");
  }
  for (absl::string_view part : absl::StrSplit(ids, ',', absl::SkipEmpty())) {
    int32_t id;
    if (!absl::SimpleAtoi(part, &id) || id < 0 || id >= vocab_size) {
      return absl::InvalidArgumentError(
          absl::StrCat("--sample_prompt_ids: '", part, "' is not a token id below vocab_size ", vocab_size));
    }
    tokens.push_back(id);
  }
  if (!text.empty() && tokenizer != nullptr) {
    tokenizer->EncodeAppend(text, tokens);
  } else if (!text.empty()) {
    if (vocab_size != 256) {
      return absl::InvalidArgumentError("--sample_prompt needs a byte-level model (vocab 256) or --sample_tokenizer");
    }
    for (uint16_t t : ByteTokenize(text)) tokens.push_back(t);
  }
  return tokens;
}

absl::Status Sample(const std::string& path) {
  SamplingOptions options;
  options.temperature = absl::GetFlag(FLAGS_sample_temperature);
  options.top_k = absl::GetFlag(FLAGS_sample_top_k);
  options.top_p = absl::GetFlag(FLAGS_sample_top_p);
  const int count = absl::GetFlag(FLAGS_sample_tokens);
  KACHI_RETURN_IF_ERROR(ValidateSamplingOptions(options));
  if (count < 0) return absl::InvalidArgumentError("--sample_tokens must be >= 0");
  KACHI_ASSIGN_OR_RETURN(std::unique_ptr<GptModel> model, LoadInferenceModel(path));
  const GptShape& shape = model->shape();
  KACHI_ASSIGN_OR_RETURN(std::shared_ptr<const BpeTokenizer> tokenizer, LoadSampleTokenizer(shape.vocab_size));
  KACHI_ASSIGN_OR_RETURN(std::vector<int32_t> tokens, PromptIds(shape.vocab_size, tokenizer.get()));
  const bool bytes = shape.vocab_size == 256;
  if (tokens.empty() && tokenizer != nullptr && tokenizer->AddedTokenId("<|endoftext|>") >= 0) {
    tokens.push_back(tokenizer->AddedTokenId("<|endoftext|>"));  // GPT-2's start of a document
  }
  if (tokens.empty()) tokens.push_back(bytes ? '\n' : 0);
  std::unique_ptr<TokenDecoder> decoder = MakeDecoder(shape.vocab_size, tokenizer);
  if (!absl::GetFlag(FLAGS_sample_print_ids)) std::fputs(absl::GetFlag(FLAGS_sample_prompt).c_str(), stdout);
  std::mt19937_64 gen(absl::GetFlag(FLAGS_sample_seed));
  std::vector<int32_t> generated;
  std::string printed;
  for (int i = 0; i < count; ++i) {
    const int64_t window = std::min<int64_t>(tokens.size(), shape.context);
    KACHI_ASSIGN_OR_RETURN(std::vector<float> logits,
                           model->LastLogits(tokens.data() + tokens.size() - window, window));
    const auto next = static_cast<int32_t>(SampleToken(logits, options, gen));
    tokens.push_back(next);
    generated.push_back(next);
    // Print what the decoder adds (a multi-id character appears once it is complete).
    const std::string text = decoder->Decode(generated);
    if (text.size() > printed.size() && text.compare(0, printed.size(), printed) == 0) {
      std::fputs(text.substr(printed.size()).c_str(), stdout);
      printed = text;
    }
  }
  std::fputc('\n', stdout);
  return absl::OkStatus();
}

}  // namespace

int SampleCommand(const std::vector<std::string>& args) {
  if (args.size() != 1) {
    std::fprintf(stderr, "usage: kachi sample WEIGHTS [--sample_prompt TEXT | --sample_prompt_ids 1,2] "
                         "[--sample_tokens N] [--sample_temperature T (0 = greedy)] [--sample_top_k K] "
                         "[--sample_top_p P] [--sample_seed S] [--sample_print_ids] [--sample_tokenizer TOK]\n");
    return 2;
  }
  if (absl::Status st = Sample(args[0]); !st.ok()) {
    std::fprintf(stderr, "kachi sample: %s\n", std::string(st.message()).c_str());
    return 1;
  }
  return 0;
}

}  // namespace kachi
