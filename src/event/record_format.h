#pragma once

#include <cstddef>
#include <cstdint>

// The packed record: the one layout in which an event lives in the memory
// slabs and, from the spill issue on, in the segment files on disk, so that
// spilling is a copy. docs/formats/record.md has a worked example. All integers
// are little-endian (common/coding.h).
//
// Record header, kRecordHeaderSize bytes:
//   0  crc      u32  low 32 bits of XXH3-64 (common/checksum.h) over bytes
//                    4..end of the payload; 0 in memory, stamped when the
//                    record is written to disk (spill/segment_reader.h)
//   4  length   u32  payload length in bytes (the event body below)
//   8  type     u8   RecordType (kUnwritten marks padding on disk)
//   9  level    u8   Priority
//  10  flags    u16  reserved, 0
//  12  epoch    u32  low 32 bits of the segment epoch; in memory 0, or the
//                    epoch of the segment that holds the same record on disk
//  16  seq      u64  the gateway sequence number
//
// Event body (the payload), kEventHeaderSize bytes and then the strings:
//   0  device_time_ms  i64
//   8  ingest_time_ns  i64
//  16  meter_id_len    u8
//  17  type_len        u8
//  18  reserved        u16, 0
//  20  payload_len     u32
//  24  meter_id bytes, type bytes, payload bytes

namespace gridgate::record {

inline constexpr uint32_t kFormatVersion = 1;

inline constexpr size_t kRecordHeaderSize = 24;
inline constexpr size_t kEventHeaderSize = 24;
inline constexpr size_t kRecordOverhead = kRecordHeaderSize + kEventHeaderSize;

inline constexpr size_t kMaxMeterIdBytes = 255;
inline constexpr size_t kMaxTypeBytes = 255;

enum class RecordType : uint8_t {
  kUnwritten = 0,  // zeroed space: never a valid record
  kFull = 1,       // a whole event
  kFirst = 2,      // reserved for events split across disk blocks
  kMiddle = 3,
  kLast = 4,
};

namespace offset {
inline constexpr size_t kCrc = 0;
inline constexpr size_t kLength = 4;
inline constexpr size_t kType = 8;
inline constexpr size_t kLevel = 9;
inline constexpr size_t kFlags = 10;
inline constexpr size_t kEpoch = 12;
inline constexpr size_t kSeq = 16;
static_assert(kSeq + 8 == kRecordHeaderSize, "the record header is 24 bytes");

inline constexpr size_t kDeviceTime = 0;
inline constexpr size_t kIngestTime = 8;
inline constexpr size_t kMeterIdLen = 16;
inline constexpr size_t kTypeLen = 17;
inline constexpr size_t kPayloadLen = 20;
static_assert(kPayloadLen + 4 == kEventHeaderSize, "the event header is 24 bytes");
}  // namespace offset

}  // namespace gridgate::record
