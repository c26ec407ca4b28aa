// GPT-2's byte-to-unicode table (see bpe_byte_map.h).
#include "runtime/data/bpe_byte_map.h"

namespace kachi {
namespace {

bool SelfMapped(int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); }

std::array<uint32_t, 256> BuildTable() {
  std::array<uint32_t, 256> table{};
  uint32_t next = 256;
  for (int b = 0; b < 256; ++b) table[b] = SelfMapped(b) ? static_cast<uint32_t>(b) : next++;
  return table;
}

}  // namespace

const std::array<uint32_t, 256>& ByteToCodePoint() {
  static const std::array<uint32_t, 256> table = BuildTable();
  return table;
}

int CodePointToByte(uint32_t code_point) {
  if (code_point < 256) return SelfMapped(static_cast<int>(code_point)) ? static_cast<int>(code_point) : -1;
  if (code_point >= 256 + 68) return -1;
  const std::array<uint32_t, 256>& table = ByteToCodePoint();
  for (int b = 0; b < 256; ++b) {
    if (table[b] == code_point) return b;
  }
  return -1;
}

}  // namespace kachi
