// Unit tests of `kachi bench train`'s pieces: the FLOP count (against GPT-2's tensor list), the median, the random
// token shard, the torch peer's result-line parser, shell quoting, and RunTorchPeer driven by fake peer scripts
// (sh stands in for python: results, a shape mismatch, "unavailable", failed modes, a missing interpreter).
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/train/synthetic_tokens.h"
#include "bench/train/torch_peer.h"
#include "bench/train/train_bench.h"
#include "bench/train/train_bench_report.h"
#include "bench/train/train_flops.h"
#include "gtest/gtest.h"
#include "runtime/data/token_shard.h"

namespace kachi {
namespace {

// Parameters of a GPT-2 model listed tensor by tensor (the Hugging Face names), excluding the position embedding.
int64_t MatmulParametersFromTensorList(const GptShape& s) {
  const int64_t c = s.width;
  int64_t total = s.padded_vocab * c;  // wte, tied with the LM head
  for (int64_t layer = 0; layer < s.layers; ++layer) {
    total += c + c;                  // ln_1 weight, bias
    total += c * 3 * c + 3 * c;      // attn.c_attn
    total += c * c + c;              // attn.c_proj
    total += c + c;                  // ln_2
    total += c * 4 * c + 4 * c;      // mlp.c_fc
    total += 4 * c * c + c;          // mlp.c_proj
  }
  return total + c + c;              // ln_f
}

TEST(TrainFlopsTest, SixTimesMatmulParametersPlusAttention) {
  // GPT-2 124M at T = 1024: 124,475,904 parameters of which 786,432 position embedding.
  const GptShape gpt2{12, 12, 768, 50257, 50304, 1024};
  EXPECT_EQ(gpt2.num_parameters() - 1024 * 768, 123689472);
  EXPECT_EQ(TrainFlopsPerToken(gpt2, 1024), 6 * int64_t{123689472} + 12 * 12 * 768 * 1024);
  std::mt19937_64 gen(20261122);
  for (int trial = 0; trial < 20; ++trial) {
    std::uniform_int_distribution<int64_t> small(1, 8);
    const int64_t heads = small(gen), layers = small(gen);
    const int64_t width = heads * 16 * small(gen);
    const int64_t vocab = 100 + small(gen) * 37, context = 32 * small(gen);
    const GptShape shape{layers, heads, width, vocab, PadVocab(vocab, 64), context};
    const int64_t seq_len = std::uniform_int_distribution<int64_t>(1, context)(gen);
    EXPECT_EQ(TrainFlopsPerToken(shape, seq_len),
              6 * MatmulParametersFromTensorList(shape) + 12 * layers * width * seq_len)
        << DescribeShape(shape) << " T=" << seq_len;
  }
  EXPECT_DOUBLE_EQ(ModelFlopsUtilization(1000000, 2e6, 4.0), 0.5);  // 2e12 FLOP/s of 4e12
  EXPECT_EQ(ModelFlopsUtilization(1000000, 2e6, 0), 0);
}

TEST(TrainBenchTest, MedianOfOddAndEvenCounts) {
  std::mt19937_64 gen(7);
  std::uniform_real_distribution<double> dist(1.0, 100.0);
  std::vector<double> values(9);
  for (double& v : values) v = dist(gen);
  std::vector<double> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(MedianOf(values), sorted[4]);
  values.push_back(dist(gen));
  sorted = values;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_DOUBLE_EQ(MedianOf(values), 0.5 * (sorted[4] + sorted[5]));
  EXPECT_EQ(MedianOf({}), 0);
}

TEST(SyntheticTokenShardTest, WritesRandomTokensBelowTheVocabularyAndCleansUp) {
  std::string directory;
  {
    absl::StatusOr<SyntheticTokenShard> shard = SyntheticTokenShard::Create(5000, 300, 99);
    ASSERT_TRUE(shard.ok()) << shard.status();
    directory = std::filesystem::path(shard->path()).parent_path();
    absl::StatusOr<std::vector<uint16_t>> tokens = ReadTokenShard(shard->path(), 300);
    ASSERT_TRUE(tokens.ok()) << tokens.status();
    ASSERT_EQ(tokens->size(), 5000u);
    std::vector<int> seen(300, 0);
    for (uint16_t t : *tokens) ++seen[t];
    int distinct = 0;
    for (int count : seen) distinct += count > 0;
    EXPECT_GT(distinct, 290) << "5000 uniform draws should hit almost all of 300 tokens";
    absl::StatusOr<SyntheticTokenShard> same = SyntheticTokenShard::Create(5000, 300, 99);
    ASSERT_TRUE(same.ok());
    EXPECT_EQ(*ReadTokenShard(same->path()), *tokens) << "same seed, same tokens";
  }
  EXPECT_FALSE(std::filesystem::exists(directory));
  EXPECT_FALSE(SyntheticTokenShard::Create(10, 70000, 1).ok());
  EXPECT_FALSE(SyntheticTokenShard::Create(0, 256, 1).ok());
}

// A result line as gpt2_torch.py prints it, from random values.
struct RandomResult {
  TrainBenchResult expected;
  std::string line;
};

RandomResult MakeResultLine(uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> dist(0.1, 1000.0);
  RandomResult r;
  TrainBenchResult& e = r.expected;
  e.runner = "torch compile";
  e.precision = "bf16-autocast";
  e.batch = 1 + gen() % 64;
  e.seq_len = 1 + gen() % 2048;
  e.timed_steps = 1 + gen() % 50;
  e.ms_per_step = std::round(dist(gen) * 1e4) / 1e4;
  e.tokens_per_s = std::round(dist(gen) * 1e5 * 10) / 10;
  e.flops_per_token = 1000000 + gen() % 1000000000;
  e.mfu_peak = std::round(dist(gen) / 1000 * 1e6) / 1e6;
  e.mfu_ceiling = std::round(dist(gen) / 1000 * 1e6) / 1e6;
  e.peak_memory_bytes = 1 + gen() % (int64_t{80} << 30);
  e.first_loss = std::round(dist(gen) * 1e5) / 1e5;
  e.last_loss = std::round(dist(gen) * 1e5) / 1e5;
  r.line = absl::StrFormat(
      "kachi_torch mode=compile batch=%d seq_len=%d steps=%d ms_per_step=%.4f tokens_per_s=%.1f flops_per_token=%d "
      "mfu_peak=%.6f mfu_ceiling=%.6f peak_mem_bytes=%d warmup_s=12.5 first_loss=%.5f last_loss=%.5f "
      "torch=2.11.0+cu130",
      e.batch, e.seq_len, e.timed_steps, e.ms_per_step, e.tokens_per_s, e.flops_per_token, e.mfu_peak,
      e.mfu_ceiling, e.peak_memory_bytes, e.first_loss, e.last_loss);
  return r;
}

TEST(TorchPeerTest, ParsesTheResultLine) {
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    const RandomResult r = MakeResultLine(seed);
    absl::StatusOr<TrainBenchResult> parsed = ParseTorchResultLine(r.line);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(parsed->runner, "torch compile");
    EXPECT_EQ(parsed->precision, "bf16-autocast");
    EXPECT_EQ(parsed->batch, r.expected.batch);
    EXPECT_EQ(parsed->seq_len, r.expected.seq_len);
    EXPECT_EQ(parsed->timed_steps, r.expected.timed_steps);
    EXPECT_DOUBLE_EQ(parsed->ms_per_step, r.expected.ms_per_step);
    EXPECT_DOUBLE_EQ(parsed->tokens_per_s, r.expected.tokens_per_s);
    EXPECT_EQ(parsed->flops_per_token, r.expected.flops_per_token);
    EXPECT_DOUBLE_EQ(parsed->mfu_peak, r.expected.mfu_peak);
    EXPECT_DOUBLE_EQ(parsed->mfu_ceiling, r.expected.mfu_ceiling);
    EXPECT_EQ(parsed->peak_memory_bytes, r.expected.peak_memory_bytes);
    EXPECT_DOUBLE_EQ(parsed->first_loss, r.expected.first_loss);
    EXPECT_DOUBLE_EQ(parsed->last_loss, r.expected.last_loss);
  }
}

TEST(TorchPeerTest, RejectsMissingAndMalformedFields) {
  const std::string line = MakeResultLine(3).line;
  std::string no_rate = line;
  no_rate.replace(no_rate.find("tokens_per_s="), 13, "tokens_rate=");
  absl::StatusOr<TrainBenchResult> missing = ParseTorchResultLine(no_rate);
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(absl::StrContains(missing.status().message(), "no 'tokens_per_s='")) << missing.status();
  std::string bad_batch = line;
  bad_batch.replace(bad_batch.find("batch=") + 6, 1, "x");
  absl::StatusOr<TrainBenchResult> malformed = ParseTorchResultLine(bad_batch);
  ASSERT_FALSE(malformed.ok());
  EXPECT_TRUE(absl::StrContains(malformed.status().message(), "batch=")) << malformed.status();
  EXPECT_FALSE(ParseTorchResultLine("kachi_torch_unavailable reason=no torch").ok());
}

TEST(TorchPeerTest, ShellQuoteSurvivesTheShell) {
  const std::string text = "it's a \"path\" with $HOME and `ticks`; 'quoted'";
  FILE* pipe = popen(absl::StrCat("printf %s ", ShellQuote(text)).c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string echoed;
  char buffer[256];
  while (std::fgets(buffer, sizeof(buffer), pipe) != nullptr) echoed += buffer;
  EXPECT_EQ(pclose(pipe), 0);
  EXPECT_EQ(echoed, text);
}

// Fake peers: `sh` runs a script in place of `python -u gpt2_torch.py` (sh -u: unset variables are errors).
class FakePeerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = absl::StrCat(::testing::TempDir(), "/fake_peer_", getpid());
    std::filesystem::create_directories(directory_);
    options_.python = "sh";
    options_.shape = GptShape{2, 2, 64, 256, 256, 64};
    options_.seq_len = 32;
    options_.batch = 3;
    options_.warmup_steps = 1;
    options_.timed_steps = 2;
    options_.timeout_s = 60;
  }
  void TearDown() override { std::filesystem::remove_all(directory_); }

  // Writes `body` as the peer script and returns RunTorchPeer's answer; the echoed output lands in echo_.
  absl::StatusOr<TorchPeerReport> RunScript(const std::string& body) {
    options_.script = directory_ + "/peer.sh";
    std::ofstream(options_.script) << body;
    echo_.str("");
    return RunTorchPeer(options_, &echo_);
  }

  // A result line for the options' shape (flops per token as kachi counts them) and `mode`.
  std::string ResultLine(const std::string& mode, int64_t flops) const {
    return absl::StrFormat(
        "kachi_torch mode=%s batch=%d seq_len=%d steps=2 ms_per_step=12.5 tokens_per_s=7680.0 flops_per_token=%d "
        "mfu_peak=0.01 mfu_ceiling=0 peak_mem_bytes=123456 first_loss=5.6 last_loss=5.5",
        mode, options_.batch, options_.seq_len, flops);
  }

  std::string directory_;
  TorchPeerOptions options_;
  std::ostringstream echo_;
};

TEST_F(FakePeerTest, CollectsResultsAndFailedModesAndPassesTheShape) {
  const int64_t flops = TrainFlopsPerToken(options_.shape, options_.seq_len);
  absl::StatusOr<TorchPeerReport> report = RunScript(absl::StrCat(
      "echo \"args: $*\"\necho '", ResultLine("eager", flops),
      "'\necho 'kachi_torch_error mode=compile reason=OutOfMemoryError: CUDA out of memory'\nexit 0\n"));
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->results.size(), 1u);
  EXPECT_EQ(report->results[0].runner, "torch eager");
  EXPECT_EQ(report->results[0].peak_memory_bytes, 123456);
  ASSERT_EQ(report->errors.size(), 1u);
  EXPECT_EQ(report->errors[0], "compile: OutOfMemoryError: CUDA out of memory");
  EXPECT_TRUE(report->unavailable.empty());
  const std::string echoed = echo_.str();
  EXPECT_TRUE(absl::StrContains(echoed, "# torch| args: --layers 2 --heads 2 --width 64 --vocab 256 --padded-vocab "
                                        "256 --context 64 --seq-len 32 --batch 3 --warmup 1 --steps 2 --modes "
                                        "eager,compile"))
      << echoed;

  TrainBenchResult kachi = report->results[0];
  kachi.runner = "kachi";
  kachi.precision = "fp32";
  kachi.tokens_per_s = 1920;
  kachi.peak_memory_bytes = 246912;
  std::ostringstream table;
  PrintTrainBenchTable(kachi, *report, table);
  EXPECT_TRUE(absl::StrContains(table.str(), "# kachi / torch eager: 0.250x tokens/s")) << table.str();
  EXPECT_TRUE(absl::StrContains(table.str(), "peak memory 2.00x")) << table.str();
  EXPECT_TRUE(absl::StrContains(table.str(), "# torch mode failed: compile: OutOfMemoryError")) << table.str();
  EXPECT_TRUE(absl::StrContains(table.str(), "kachi_bench_train runner=torch_eager ")) << table.str();
}

TEST_F(FakePeerTest, ADifferentFlopCountIsAnError) {
  const int64_t flops = TrainFlopsPerToken(options_.shape, options_.seq_len);
  absl::StatusOr<TorchPeerReport> report = RunScript(absl::StrCat("echo '", ResultLine("eager", flops + 6), "'\n"));
  ASSERT_FALSE(report.ok());
  EXPECT_TRUE(absl::StrContains(report.status().message(), "must count alike")) << report.status();
}

TEST_F(FakePeerTest, UnavailablePeerIsReportedNotAnError) {
  absl::StatusOr<TorchPeerReport> report =
      RunScript("echo 'kachi_torch_unavailable reason=python cannot import torch'\nexit 3\n");
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->unavailable, "python cannot import torch");
  EXPECT_TRUE(report->results.empty());

  options_.python = directory_ + "/no_such_python";
  report = RunScript("exit 0\n");
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(absl::StrContains(report->unavailable, "no_such_python")) << report->unavailable;
}

TEST_F(FakePeerTest, UnexpectedExitIsAnErrorWithTheLastLines) {
  absl::StatusOr<TorchPeerReport> report = RunScript("echo 'Traceback: something broke'\nexit 5\n");
  ASSERT_FALSE(report.ok());
  EXPECT_TRUE(absl::StrContains(report.status().message(), "exited 5")) << report.status();
  EXPECT_TRUE(absl::StrContains(report.status().message(), "something broke")) << report.status();
}

TEST_F(FakePeerTest, APeerPastItsTimeoutIsStoppedAndItsFinishedModesKept) {
  options_.timeout_s = 2;
  const int64_t flops = TrainFlopsPerToken(options_.shape, options_.seq_len);
  absl::StatusOr<TorchPeerReport> report = RunScript(absl::StrCat("echo '", ResultLine("eager", flops), "'\nsleep 30\n"));
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->results.size(), 1u);
  ASSERT_EQ(report->errors.size(), 1u);
  EXPECT_TRUE(absl::StrContains(report->errors[0], "ran past 2 s and was stopped")) << report->errors[0];
}

}  // namespace
}  // namespace kachi
