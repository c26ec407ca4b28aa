// Unit tests of the byte-level BPE pieces: the GPT-2 pre-tokenizer split on hand-made cases, the byte map, the JSON
// reader, merges by rank and added tokens on a hand-made vocabulary, decoding and its errors, threaded encoding
// (equal to one Encode call on random text), the file loaders' refusals, the uint32 shard header and a uint32
// shard from TextToShards with a vocabulary above 65,536 ids.
#include "runtime/data/bpe_tokenizer.h"

#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/data/bpe_byte_map.h"
#include "runtime/data/bpe_json.h"
#include "runtime/data/bpe_parallel.h"
#include "runtime/data/bpe_pretokenizer.h"
#include "runtime/data/bpe_unicode.h"
#include "runtime/data/text_to_shards.h"
#include "runtime/data/token_shard.h"
#include "tests/data/data_test_util.h"

namespace kachi {
namespace {

using Pieces = std::vector<std::string>;

TEST(BpePreTokenizerTest, HandMadeCases) {
  EXPECT_EQ(PreTokenize(""), Pieces{});
  EXPECT_EQ(PreTokenize("Hello world"), (Pieces{"Hello", " world"}));
  EXPECT_EQ(PreTokenize("it's"), (Pieces{"it", "'s"}));
  EXPECT_EQ(PreTokenize("I'll we've you're I'm he'd don't"),
            (Pieces{"I", "'ll", " we", "'ve", " you", "'re", " I", "'m", " he", "'d", " don", "'t"}));
  EXPECT_EQ(PreTokenize("IT'S"), (Pieces{"IT", "'", "S"}));  // contractions are case-sensitive
  EXPECT_EQ(PreTokenize(" 's"), (Pieces{" '", "s"}));
  EXPECT_EQ(PreTokenize("a   b"), (Pieces{"a", "  ", " b"}));  // the run leaves its last space to the word
  EXPECT_EQ(PreTokenize("a \n b"), (Pieces{"a", " \n", " b"}));
  EXPECT_EQ(PreTokenize("x  "), (Pieces{"x", "  "}));          // trailing run kept whole
  EXPECT_EQ(PreTokenize("\t\tx"), (Pieces{"\t", "\t", "x"}));  // a tab does not join the word
  EXPECT_EQ(PreTokenize("\n\nx\n"), (Pieces{"\n", "\n", "x", "\n"}));
  EXPECT_EQ(PreTokenize("123abc 45"), (Pieces{"123", "abc", " 45"}));
  EXPECT_EQ(PreTokenize("hi!!! ok?!"), (Pieces{"hi", "!!!", " ok", "?!"}));
  EXPECT_EQ(PreTokenize("café 東京 abc"), (Pieces{"café", " 東京", " abc"}));
  EXPECT_EQ(PreTokenize("e\u0301x"), (Pieces{"e", "\u0301", "x"}));  // a combining mark is neither L nor N
  EXPECT_EQ(PreTokenize("½² Ⅻ"), (Pieces{"½²", " Ⅻ"}));              // No and Nl are numbers
  EXPECT_EQ(PreTokenize("a\u00a0b"), (Pieces{"a", "\u00a0", "b"}));  // NBSP is \s but not the optional space
  EXPECT_EQ(PreTokenize("a\u3000\u3000b"), (Pieces{"a", "\u3000", "\u3000", "b"}));
  EXPECT_EQ(PreTokenize("😀👍 ok"), (Pieces{"😀👍", " ok"}));
  EXPECT_EQ(PreTokenize("\xff\xfe z"), (Pieces{"\xff\xfe", " z"}));  // invalid UTF-8: "other" bytes
  EXPECT_EQ(PreTokenize(" "), (Pieces{" "}));
}

TEST(BpeUnicodeTest, ClassesAndDecoding) {
  EXPECT_EQ(ClassifyCodePoint('a'), CharClass::kLetter);
  EXPECT_EQ(ClassifyCodePoint(0x6771), CharClass::kLetter);   // 東
  EXPECT_EQ(ClassifyCodePoint(0x0663), CharClass::kNumber);   // Arabic-Indic three
  EXPECT_EQ(ClassifyCodePoint(0x2009), CharClass::kSpace);    // thin space
  EXPECT_EQ(ClassifyCodePoint(0x1F600), CharClass::kOther);   // emoji
  EXPECT_EQ(ClassifyCodePoint(0x0301), CharClass::kOther);    // combining acute
  const std::string overlong = "\xc0\x80";
  EXPECT_EQ(DecodeUtf8(overlong, 0).length, 1);
  EXPECT_EQ(DecodeUtf8(overlong, 0).code_point, 0xFFFDu);
  const std::string emoji = "\xf0\x9f\x98\x80";
  EXPECT_EQ(DecodeUtf8(emoji, 0).code_point, 0x1F600u);
  EXPECT_EQ(DecodeUtf8(emoji, 0).length, 4);
}

TEST(BpeByteMapTest, GptTwoTable) {
  EXPECT_EQ(ByteToCodePoint()[' '], 0x120u);   // Ġ
  EXPECT_EQ(ByteToCodePoint()['\n'], 0x10Au);  // Ċ
  EXPECT_EQ(ByteToCodePoint()['A'], static_cast<uint32_t>('A'));
  for (int b = 0; b < 256; ++b) EXPECT_EQ(CodePointToByte(ByteToCodePoint()[b]), b);
  EXPECT_EQ(CodePointToByte(0x20), -1);
}

TEST(BpeJsonTest, ParsesTheTokenizerGrammar) {
  absl::StatusOr<BpeJson> json =
      ParseBpeJson(R"( {"a": [1, -2.5e1, true, false, null], "s": "x\"\u00e9\ud83d\ude00\n", "o": {}} )");
  ASSERT_TRUE(json.ok()) << json.status();
  ASSERT_NE(json->Find("a"), nullptr);
  EXPECT_EQ(json->Find("a")->elements.size(), 5u);
  EXPECT_EQ(json->Find("a")->elements[1].number, -25.0);
  EXPECT_EQ(json->Find("s")->text, "x\"é😀\n");
  EXPECT_FALSE(ParseBpeJson("{\"a\": }").ok());
  EXPECT_FALSE(ParseBpeJson("[1, 2").ok());
  EXPECT_FALSE(ParseBpeJson("\"\\ud800\"").ok());
}

// A vocabulary of the 256 bytes (id = byte value), merges he, Ġw, ll, hell (ranks 0..3) and <|endoftext|> = 300.
BpeFiles HandMadeFiles() {
  BpeFiles files;
  files.source = "hand-made";
  for (int b = 0; b < 256; ++b) {
    std::string spelling;
    AppendUtf8(ByteToCodePoint()[b], spelling);
    files.vocab.emplace_back(spelling, b);
  }
  files.vocab.emplace_back("he", 256);
  files.vocab.emplace_back("Ġw", 257);
  files.vocab.emplace_back("ll", 258);
  files.vocab.emplace_back("hell", 259);
  files.merges = {{"h", "e"}, {"Ġ", "w"}, {"l", "l"}, {"he", "ll"}};
  files.added_tokens.push_back({"<|endoftext|>", 300, true});
  return files;
}

TEST(BpeTokenizerTest, MergesByRankAndAddedTokens) {
  absl::StatusOr<BpeTokenizer> tok = BpeTokenizer::FromFiles(HandMadeFiles());
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ(tok->vocab_size(), 301);
  EXPECT_EQ(tok->AddedTokenId("<|endoftext|>"), 300);
  EXPECT_EQ(tok->Encode("hello<|endoftext|> wo"), (std::vector<int32_t>{259, 'o', 300, 257, 'o'}));
  EXPECT_EQ(tok->Encode("<|endoftext|><|endoftext|>"), (std::vector<int32_t>{300, 300}));
  EXPECT_EQ(tok->Encode("lll"), (std::vector<int32_t>{258, 'l'}));  // leftmost pair first
  // A piece above 64 bytes takes the heap path: the same leftmost-first result.
  std::vector<int32_t> long_ids(50, 258);
  long_ids.push_back('l');
  EXPECT_EQ(tok->Encode(std::string(101, 'l')), long_ids);
  std::string long_word;
  std::vector<int32_t> long_word_ids;
  for (int i = 0; i < 30; ++i) long_word += "hello", long_word_ids.push_back(259), long_word_ids.push_back('o');
  EXPECT_EQ(tok->Encode(long_word), long_word_ids);
  absl::StatusOr<std::string> text = tok->Decode({259, 'o', 300, 257, 'o', ' '});
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, "hello<|endoftext|> wo ");
  EXPECT_FALSE(tok->Decode({280}).ok());  // an id no token has
  EXPECT_FALSE(tok->Decode({301}).ok());
  EXPECT_FALSE(tok->TokenBytes(-1).ok());
}

TEST(BpeTokenizerTest, RoundTripAndThreadsOnRandomText) {
  absl::StatusOr<BpeTokenizer> tok = BpeTokenizer::FromFiles(HandMadeFiles());
  ASSERT_TRUE(tok.ok()) << tok.status();
  std::mt19937 rng(20261204);
  const std::vector<std::string> parts = {"hello", " world", "\n", "  ", "\t", "<|endoftext|>", "é", "東", "12",
                                          "'s", "!", "\xff", "\nX", "\n\n"};
  std::string text;
  for (int i = 0; i < 20000; ++i) text += parts[rng() % parts.size()];
  const std::vector<int32_t> ids = tok->Encode(text);
  absl::StatusOr<std::string> back = tok->Decode(ids);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, text);
  size_t calls = 0;
  const std::vector<int32_t> threaded = EncodeParallel(*tok, text, 3, 257, [&](size_t) { ++calls; });
  EXPECT_EQ(threaded, ids);
  EXPECT_GT(calls, 10u);  // really cut into chunks
}

TEST(BpeTokenizerTest, RefusesIncompleteVocabularies) {
  BpeFiles files = HandMadeFiles();
  files.vocab.erase(files.vocab.begin() + 'A');
  EXPECT_FALSE(BpeTokenizer::FromFiles(files).ok());
  files = HandMadeFiles();
  files.merges.push_back({"x", "y"});  // "xy" is not in the vocabulary
  EXPECT_FALSE(BpeTokenizer::FromFiles(files).ok());
  EXPECT_FALSE(BpeTokenizer::Load("/nonexistent/tokenizer").ok());
}

TEST(BpeFilesTest, RefusesUnsupportedSettings) {
  testing::ScopedTempDirs dirs;
  const std::string dir = dirs.Make("bpe_files");
  std::ofstream(dir + "/tokenizer.json")
      << R"({"normalizer": {"type": "NFC"}, "model": {"type": "BPE", "vocab": {}, "merges": []}})";
  absl::StatusOr<BpeFiles> files = LoadBpeFiles(dir);
  ASSERT_FALSE(files.ok());
  EXPECT_NE(files.status().message().find("normalizer"), std::string::npos) << files.status();
}

TEST(TokenShardU32Test, WritesLlmcUint32Header) {
  testing::ScopedTempDirs dirs;
  const std::string path = dirs.Make("u32") + "/train_000000.bin";
  ASSERT_TRUE(WriteTokenShardU32(path, std::vector<uint32_t>{1, 70000, 3}).ok());
  const std::string bytes = testing::ReadFileBytes(path);
  ASSERT_EQ(bytes.size(), 1024u + 12u);
  const auto* words = reinterpret_cast<const int32_t*>(bytes.data());
  EXPECT_EQ(words[0], 20240801);
  EXPECT_EQ(words[1], 7);
  EXPECT_EQ(words[2], 3);
  EXPECT_EQ(reinterpret_cast<const uint32_t*>(bytes.data() + 1024)[1], 70000u);
  absl::StatusOr<TokenShard> shard = TokenShard::Open(path);  // read by training and eval since the #16 follow-up
  ASSERT_TRUE(shard.ok()) << shard.status();
  EXPECT_EQ(shard->token_bytes(), 4u);
  EXPECT_EQ(std::vector<uint32_t>(shard->tokens_u32().begin(), shard->tokens_u32().end()),
            (std::vector<uint32_t>{1, 70000, 3}));
}

}  // namespace
}  // namespace kachi

namespace kachi {
namespace {

// Writes `files` as vocab.json + merges.txt into `dir` (ASCII-escaped JSON is not needed: spellings are UTF-8).
void WriteVocabAndMerges(const BpeFiles& files, const std::string& dir) {
  std::ofstream vocab(dir + "/vocab.json");
  vocab << "{";
  for (size_t i = 0; i < files.vocab.size(); ++i) {
    std::string quoted;
    for (const char c : files.vocab[i].first) {
      if (c == '"' || c == '\\') quoted.push_back('\\');
      quoted.push_back(c);
    }
    vocab << (i ? ", " : "") << "\"" << quoted << "\": " << files.vocab[i].second;
  }
  vocab << "}";
  std::ofstream merges(dir + "/merges.txt");
  merges << "#version: 0.2\n";
  for (const auto& [left, right] : files.merges) merges << left << " " << right << "\n";
}

TEST(BpeTextToShardsTest, WideVocabularyWritesUint32Shards) {
  testing::ScopedTempDirs dirs;
  const std::string tok_dir = dirs.Make("bpe_wide_tok");
  BpeFiles files = HandMadeFiles();
  files.added_tokens.clear();
  files.vocab.emplace_back("<|endoftext|>", 70000);  // a <|...|> entry of vocab.json is a special token
  WriteVocabAndMerges(files, tok_dir);
  absl::StatusOr<BpeTokenizer> tok = BpeTokenizer::Load(tok_dir);
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ(tok->vocab_size(), 70001);
  EXPECT_EQ(tok->Encode("hello<|endoftext|>"), (std::vector<int32_t>{259, 'o', 70000}));

  const std::string text = "hello world\n<|endoftext|>well, hello\n";
  const std::string in_dir = dirs.Make("bpe_wide_in");
  testing::WriteFileBytes(in_dir + "/a.txt", text);
  TextToShardsOptions options;
  options.input_files = {in_dir + "/a.txt"};
  options.out_dir = dirs.Make("bpe_wide_out");
  options.val_fraction = 0;
  options.tokenizer = tok_dir;
  options.threads = 2;
  absl::StatusOr<TextToShardsResult> result = TextToShards(options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->wide);
  ASSERT_EQ(result->train_shards.size(), 1u);
  const std::string bytes = testing::ReadFileBytes(result->train_shards[0]);
  const auto* words = reinterpret_cast<const int32_t*>(bytes.data());
  EXPECT_EQ(words[0], kTokenShardU32Magic);
  EXPECT_EQ(words[1], kTokenShardU32Version);
  std::vector<int32_t> expected = {70000};  // the document separator
  for (const int32_t id : tok->Encode(text)) expected.push_back(id);
  ASSERT_EQ(static_cast<size_t>(words[2]), expected.size());
  ASSERT_EQ(bytes.size(), 1024 + 4 * expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(reinterpret_cast<const uint32_t*>(bytes.data() + 1024)[i], static_cast<uint32_t>(expected[i])) << i;
  }
}

}  // namespace
}  // namespace kachi
