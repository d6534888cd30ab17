#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

namespace gridgate {

// Little-endian fixed-width encoding, the byte order of every record gridgate
// writes. memcpy keeps these free of alignment requirements; on x86-64 they
// compile to single loads and stores.
static_assert(std::endian::native == std::endian::little,
              "record coding assumes a little-endian host; add byte swaps to port it");

inline void EncodeFixed16(char* dst, uint16_t v) { std::memcpy(dst, &v, sizeof(v)); }
inline void EncodeFixed32(char* dst, uint32_t v) { std::memcpy(dst, &v, sizeof(v)); }
inline void EncodeFixed64(char* dst, uint64_t v) { std::memcpy(dst, &v, sizeof(v)); }

inline uint16_t DecodeFixed16(const char* src) {
  uint16_t v;
  std::memcpy(&v, src, sizeof(v));
  return v;
}
inline uint32_t DecodeFixed32(const char* src) {
  uint32_t v;
  std::memcpy(&v, src, sizeof(v));
  return v;
}
inline uint64_t DecodeFixed64(const char* src) {
  uint64_t v;
  std::memcpy(&v, src, sizeof(v));
  return v;
}

}  // namespace gridgate
