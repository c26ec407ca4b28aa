// Test helper for u32_cli_test.sh: widen_shard_tool IN OUT [ADD] reads the token shard IN (uint16 or uint32), adds
// ADD (default 0) to every id and writes the result to OUT as llm.c's uint32 variant; exits 1 naming the error.
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <vector>

#include "runtime/data/token_shard.h"

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::cerr << "usage: widen_shard_tool IN OUT [ADD]\n";
    return 2;
  }
  absl::StatusOr<std::vector<uint32_t>> ids = kachi::ReadTokenShardU32(argv[1]);
  if (!ids.ok()) {
    std::cerr << ids.status() << "\n";
    return 1;
  }
  const uint32_t add = argc == 4 ? static_cast<uint32_t>(std::strtoul(argv[3], nullptr, 10)) : 0;
  for (uint32_t& id : *ids) id += add;
  if (const absl::Status written = kachi::WriteTokenShardU32(argv[2], *ids); !written.ok()) {
    std::cerr << written << "\n";
    return 1;
  }
  return 0;
}
