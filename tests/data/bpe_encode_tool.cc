// Test helper for bpe_parity_test.sh: bpe_encode_tool TOKENIZER SUFFIX FILE... loads the tokenizer, writes the ids
// of each FILE to FILE.SUFFIX.ids (space-separated) and checks Decode(Encode(text)) == text, exiting 1 on a failed
// load or round trip.
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "runtime/data/bpe_tokenizer.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: bpe_encode_tool TOKENIZER SUFFIX FILE...\n";
    return 2;
  }
  absl::StatusOr<kachi::BpeTokenizer> tok = kachi::BpeTokenizer::Load(argv[1]);
  if (!tok.ok()) {
    std::cerr << "load: " << tok.status() << "\n";
    return 1;
  }
  int bad = 0;
  for (int i = 3; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    const std::vector<int32_t> ids = tok->Encode(text.str());
    std::ofstream out(std::string(argv[i]) + "." + argv[2] + ".ids");
    for (const int32_t id : ids) out << id << " ";
    absl::StatusOr<std::string> back = tok->Decode(ids);
    if (!back.ok() || *back != text.str()) {
      std::cerr << argv[i] << ": decode(encode(text)) != text\n";
      ++bad;
    }
  }
  std::cout << "bpe_encode_tool: " << (argc - 3) << " file(s), vocab " << tok->vocab_size() << ", " << bad
            << " round-trip failure(s)\n";
  return bad == 0 ? 0 : 1;
}
