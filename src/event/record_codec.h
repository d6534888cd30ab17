#pragma once

#include <cstddef>
#include <string_view>

#include "common/status.h"
#include "event/event.h"
#include "event/record_format.h"

namespace gridgate::record {

// Bytes that EncodeRecord writes for `event`. Precondition: CheckEncodable(event).
constexpr size_t RecordSize(const Event& event) {
  return kRecordOverhead + event.meter_id.size() + event.type.size() + event.payload.size();
}

// OK when the event fits the record format: meter_id and type within their
// length limits, a valid priority, payload within u32. The message names the
// field otherwise.
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
Priority RecordLevel(const char* header);
Seq RecordSeq(const char* header);
size_t RecordSizeAt(const char* header);

}  // namespace gridgate::record
