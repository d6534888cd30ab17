#include "event/record_codec.h"

#include <cstring>
#include <limits>
#include <string>

#include "common/coding.h"

namespace gridgate::record {
namespace {

// Copies `bytes` to `dst` and returns the end. An empty view may have a null
// data(), which memcpy must not be given.
char* Append(char* dst, std::string_view bytes) {
  if (!bytes.empty()) {
    std::memcpy(dst, bytes.data(), bytes.size());
  }
  return dst + bytes.size();
}

}  // namespace

Status CheckEncodable(const Event& event) {
  if (event.meter_id.size() > kMaxMeterIdBytes) {
    return Status::InvalidArgument("meter_id is " + std::to_string(event.meter_id.size()) +
                                   " bytes, the record format holds at most " +
                                   std::to_string(kMaxMeterIdBytes));
  }
  if (event.type.size() > kMaxTypeBytes) {
    return Status::InvalidArgument("type is " + std::to_string(event.type.size()) +
                                   " bytes, the record format holds at most " +
                                   std::to_string(kMaxTypeBytes));
  }
  if (!IsValidPriority(static_cast<uint8_t>(event.priority))) {
    return Status::InvalidArgument("priority " +
                                   std::to_string(static_cast<int>(event.priority)) +
                                   " is not a level (0..3)");
  }
  // Invariant: the body length fits the u32 length field.
  if (event.payload.size() >
      std::numeric_limits<uint32_t>::max() - kEventHeaderSize - kMaxMeterIdBytes - kMaxTypeBytes) {
    return Status::InvalidArgument("payload of " + std::to_string(event.payload.size()) +
                                   " bytes is too large for a record");
  }
  return Status::Ok();
}

void EncodeRecord(const Event& event, Seq seq, char* dst) {
  const size_t body_length = RecordSize(event) - kRecordHeaderSize;
  EncodeFixed32(dst + offset::kCrc, 0);
  EncodeFixed32(dst + offset::kLength, static_cast<uint32_t>(body_length));
  dst[offset::kType] = static_cast<char>(RecordType::kFull);
  dst[offset::kLevel] = static_cast<char>(event.priority);
  EncodeFixed16(dst + offset::kFlags, 0);
  EncodeFixed32(dst + offset::kEpoch, 0);
  EncodeFixed64(dst + offset::kSeq, seq.value);

  char* body = dst + kRecordHeaderSize;
  EncodeFixed64(body + offset::kDeviceTime, static_cast<uint64_t>(event.device_time_ms));
  EncodeFixed64(body + offset::kIngestTime, static_cast<uint64_t>(event.ingest_time_ns));
  body[offset::kMeterIdLen] = static_cast<char>(event.meter_id.size());
  body[offset::kTypeLen] = static_cast<char>(event.type.size());
  EncodeFixed16(body + offset::kTypeLen + 1, 0);
  EncodeFixed32(body + offset::kPayloadLen, static_cast<uint32_t>(event.payload.size()));
  char* p = body + kEventHeaderSize;
  p = Append(p, event.meter_id);
  p = Append(p, event.type);
  Append(p, event.payload);
}

Status DecodeRecord(std::string_view bytes, Event* event, size_t* record_size) {
  if (bytes.size() < kRecordOverhead) {
    return Status::Corruption("record shorter than its headers (" + std::to_string(bytes.size()) +
                              " bytes)");
  }
  const char* header = bytes.data();
  const uint8_t type = static_cast<uint8_t>(header[offset::kType]);
  if (type != static_cast<uint8_t>(RecordType::kFull)) {
    return Status::Corruption("record type " + std::to_string(type) + " is not a whole event");
  }
  const uint8_t level = static_cast<uint8_t>(header[offset::kLevel]);
  if (!IsValidPriority(level)) {
    return Status::Corruption("record level " + std::to_string(level) + " is not a priority");
  }
  const uint64_t body_length = DecodeFixed32(header + offset::kLength);
  if (body_length > bytes.size() - kRecordHeaderSize) {
    return Status::Corruption("record length " + std::to_string(body_length) +
                              " runs past the end of the data");
  }
  const char* body = header + kRecordHeaderSize;
  const uint64_t meter_len = static_cast<uint8_t>(body[offset::kMeterIdLen]);
  const uint64_t type_len = static_cast<uint8_t>(body[offset::kTypeLen]);
  const uint64_t payload_len = DecodeFixed32(body + offset::kPayloadLen);
  // Invariant: the field lengths add up to the record length (no u64 overflow:
  // each term is at most 2^32).
  if (kEventHeaderSize + meter_len + type_len + payload_len != body_length) {
    return Status::Corruption("record field lengths do not add up to its length");
  }
  const char* p = body + kEventHeaderSize;
  event->seq = Seq{DecodeFixed64(header + offset::kSeq)};
  event->priority = static_cast<Priority>(level);
  event->device_time_ms = static_cast<int64_t>(DecodeFixed64(body + offset::kDeviceTime));
  event->ingest_time_ns = static_cast<int64_t>(DecodeFixed64(body + offset::kIngestTime));
  event->meter_id = std::string_view(p, meter_len);
  event->type = std::string_view(p + meter_len, type_len);
  event->payload = std::string_view(p + meter_len + type_len, payload_len);
  *record_size = kRecordHeaderSize + body_length;
  return Status::Ok();
}

}  // namespace gridgate::record
