// CRC-32C (Castagnoli: reflected polynomial 0x82F63B78, initial and final XOR 0xFFFFFFFF), as TFRecord framing and
// TensorBoard's event files use it, and the "masked" form those files store.
#ifndef KACHI_RUNTIME_METRICS_CRC32C_H_
#define KACHI_RUNTIME_METRICS_CRC32C_H_

#include <cstddef>
#include <cstdint>

namespace kachi {

// The CRC-32C of `size` bytes at `data` ("123456789" -> 0xE3069283).
uint32_t Crc32c(const void* data, size_t size);

// The masked CRC TFRecord stores: rotate right by 15 bits, then add 0xA282EAD8 (so that a CRC of data holding CRCs
// is not trivially related to them).
uint32_t MaskCrc32c(uint32_t crc);

}  // namespace kachi

#endif  // KACHI_RUNTIME_METRICS_CRC32C_H_
