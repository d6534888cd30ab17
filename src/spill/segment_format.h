#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "event/priority.h"

// The on-disk layout of one spill segment file; docs/formats/spill.md has the
// whole story and a worked example. All integers little-endian.
//
//   [ header: kSegmentHeaderBytes ][ block ][ block ] ... [ block ]
//
// The header is read and written with pread/pwrite; the blocks are mapped
// (MAP_SHARED). Records (event/record_format.h) never straddle a block: a
// record that does not fit the rest of a block starts the next one, and the
// gap is marked with zero bytes, so every block begins with a record and a
// reader can resync at the next block after damage.
//
// Header (the first kHeaderUsedBytes of the header page):
//   0  magic           8   "GGSPILL\0"
//   8  version         u32 kSegmentFormatVersion
//  12  header_bytes    u32 kSegmentHeaderBytes
//  16  block_bytes     u32
//  20  level           u8  Priority
//  21  state           u8  SegmentState
//  22  reserved        u16 0
//  24  slot            u32 the file's slot number in its level folder
//  28  reserved        u32 0
//  32  epoch           u64 bumped every time a slot is (re)used, per level
//  40  segment_bytes   u64 size of the whole file
//  48  start_offset    u64 data offset of the first record still owed to a sink
//  56  created_unix_ns u64
//  64  checksum        u32 Checksum32 over bytes 0..63

namespace gridgate::spill {

inline constexpr uint32_t kSegmentFormatVersion = 1;
inline constexpr char kSegmentMagic[8] = {'G', 'G', 'S', 'P', 'I', 'L', 'L', '\0'};
inline constexpr size_t kSegmentHeaderBytes = 4096;
inline constexpr size_t kHeaderUsedBytes = 68;
inline constexpr size_t kDefaultBlockBytes = 32 * 1024;

enum class SegmentState : uint8_t {
  kFree = 0,  // holds nothing owed to anyone; may be reused
  kLive = 1,  // holds records from start_offset on
};

struct SegmentHeader {
  uint32_t block_bytes = kDefaultBlockBytes;
  Priority level = Priority::kLow;
  SegmentState state = SegmentState::kFree;
  uint32_t slot = 0;
  uint64_t epoch = 0;
  uint64_t segment_bytes = 0;
  uint64_t start_offset = 0;
  int64_t created_unix_ns = 0;
};

// The kHeaderUsedBytes bytes of `header`, checksum included.
std::string EncodeSegmentHeader(const SegmentHeader& header);

// Corruption, saying what is wrong, when `bytes` is not a valid header of
// this version.
Result<SegmentHeader> DecodeSegmentHeader(std::string_view bytes);

// "seg-000042.spill" for slot 42.
std::string SegmentFileName(uint32_t slot);
// The slot of a segment file name, or -1 when `name` is not one.
int64_t ParseSegmentFileName(std::string_view name);

}  // namespace gridgate::spill
