#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "event/priority.h"

// How segment_reader_fuzz reads its input, shared with the seed generator so
// that the seeds say what they mean:
//
//   byte 0  bit 0     block size: 0 → 4096, 1 → 8192
//           bits 1-2  level (Priority)
//           bits 3-7  epoch (0..31)
//   byte 1            start offset in 16-byte units, clamped to the data size
//   rest              the segment's data region
//
// Inputs shorter than kSelectorBytes are ignored.

namespace gridgate::fuzz {

inline constexpr size_t kSelectorBytes = 2;
inline constexpr uint64_t kStartOffsetUnit = 16;

struct ReaderInput {
  uint32_t block_bytes = 4096;
  Priority level = Priority::kCritical;
  uint64_t epoch = 0;
  uint64_t start_offset = 0;
  std::string_view data;
};

// Precondition: size >= kSelectorBytes.
inline ReaderInput ParseReaderInput(const uint8_t* bytes, size_t size) {
  ReaderInput in;
  in.block_bytes = (bytes[0] & 1) != 0 ? 8192 : 4096;
  in.level = static_cast<Priority>((bytes[0] >> 1) & 3);
  in.epoch = bytes[0] >> 3;
  in.data = std::string_view(reinterpret_cast<const char*>(bytes) + kSelectorBytes,
                             size - kSelectorBytes);
  in.start_offset = std::min<uint64_t>(bytes[1] * kStartOffsetUnit, in.data.size());
  return in;
}

// The selector bytes for a seed. Preconditions: block_bytes is 4096 or 8192,
// epoch < 32, start_offset a multiple of kStartOffsetUnit below 4096.
inline void EncodeReaderSelector(uint32_t block_bytes, Priority level, uint64_t epoch,
                                 uint64_t start_offset, uint8_t out[kSelectorBytes]) {
  out[0] = static_cast<uint8_t>((block_bytes == 8192 ? 1 : 0) | (static_cast<uint8_t>(level) << 1) |
                                (epoch << 3));
  out[1] = static_cast<uint8_t>(start_offset / kStartOffsetUnit);
}

}  // namespace gridgate::fuzz
