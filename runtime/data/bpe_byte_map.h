// GPT-2's byte-to-unicode mapping: every byte gets a printable code point (the printable Latin-1 bytes ! .. ~,
// ¡ .. ¬, ® .. ÿ map to themselves, the other 68 to U+0100, U+0101, ... in byte order), so byte-level BPE
// vocabularies are spelled as text (a space is "Ġ", a newline "Ċ").
#ifndef KACHI_RUNTIME_DATA_BPE_BYTE_MAP_H_
#define KACHI_RUNTIME_DATA_BPE_BYTE_MAP_H_

#include <array>
#include <cstdint>

namespace kachi {

// Code point of each byte value.
const std::array<uint32_t, 256>& ByteToCodePoint();

// The byte a code point stands for, or -1 when it is not one of the 256 mapped code points.
int CodePointToByte(uint32_t code_point);

}  // namespace kachi

#endif  // KACHI_RUNTIME_DATA_BPE_BYTE_MAP_H_
