#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/coding.h"
#include "common/status.h"
#include "event/event.h"
#include "event/record_format.h"

namespace gridgate::record {

// Bytes that EncodeRecord writes for `event`. Precondition: CheckEncodable(event).
constexpr size_t RecordSize(const Event& event) {
  return kRecordOverhead + event.meter_id.size() + event.type.size() + event.payload.size();
}

// True when the event fits the record format: meter_id and type within their
// length limits, a valid priority, a body length within u32. The hot path's
// check; CheckEncodable says why not.
constexpr bool IsEncodable(const Event& event) {
  return event.meter_id.size() <= kMaxMeterIdBytes && event.type.size() <= kMaxTypeBytes &&
         IsValidPriority(static_cast<uint8_t>(event.priority)) &&
         event.payload.size() <=
             UINT32_MAX - kEventHeaderSize - kMaxMeterIdBytes - kMaxTypeBytes;
}

// OK when IsEncodable(event); otherwise InvalidArgument naming the field.
Status CheckEncodable(const Event& event);

// Writes `event` with sequence number `seq` as a kFull record into `dst`,
// which must hold RecordSize(event) bytes. crc and epoch are written as 0.
// Precondition: CheckEncodable(event).ok().
void EncodeRecord(const Event& event, Seq seq, char* dst);

// Decodes the record at the start of `bytes` into `*event`, whose string
// views then point into `bytes`; `*record_size` receives the record's size.
// Checks that the lengths are consistent and fit in `bytes` (never reads past
// it); does not check the crc, which is the disk reader's job.
Status DecodeRecord(std::string_view bytes, Event* event, size_t* record_size);

// The level and sequence number of the record at `header` (at least
// kRecordHeaderSize readable bytes), without decoding the body.
inline Priority RecordLevel(const char* header) {
  return static_cast<Priority>(static_cast<uint8_t>(header[offset::kLevel]));
}
inline Seq RecordSeq(const char* header) { return Seq{DecodeFixed64(header + offset::kSeq)}; }
inline size_t RecordSizeAt(const char* header) {
  return kRecordHeaderSize + DecodeFixed32(header + offset::kLength);
}

}  // namespace gridgate::record
