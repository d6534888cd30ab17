#include "spill/segment_reader.h"

#include <algorithm>
#include <cstring>

#include "common/checksum.h"
#include "common/coding.h"
#include "event/record_codec.h"

namespace gridgate::spill {

bool ValidRecordAt(std::string_view data, uint64_t offset, uint32_t block_bytes, Priority level,
                   uint64_t epoch) {
  if (offset >= data.size()) {
    return false;
  }
  const uint64_t block_left = block_bytes - offset % block_bytes;
  const uint64_t avail = std::min<uint64_t>(block_left, data.size() - offset);
  if (avail < record::kRecordOverhead) {
    return false;
  }
  const char* h = data.data() + offset;
  if (static_cast<uint8_t>(h[record::offset::kType]) !=
          static_cast<uint8_t>(record::RecordType::kFull) ||
      record::RecordLevel(h) != level ||
      DecodeFixed32(h + record::offset::kEpoch) != static_cast<uint32_t>(epoch)) {
    return false;
  }
  // The length is checked before it is trusted for the checksum.
  const uint64_t size = record::kRecordHeaderSize + DecodeFixed32(h + record::offset::kLength);
  if (size > avail) {
    return false;
  }
  if (DecodeFixed32(h + record::offset::kCrc) != Checksum32(std::string_view(h + 4, size - 4))) {
    return false;
  }
  Event event;
  size_t record_size = 0;
  return record::DecodeRecord(std::string_view(h, size), &event, &record_size).ok();
}

void WritePadding(char* dst, uint64_t block_left, Priority level, uint64_t epoch) {
  if (block_left < record::kRecordHeaderSize) {
    return;
  }
  std::memset(dst, 0, record::kRecordHeaderSize);
  EncodeFixed32(dst + record::offset::kLength,
                static_cast<uint32_t>(block_left - record::kRecordHeaderSize));
  dst[record::offset::kType] = static_cast<char>(record::RecordType::kUnwritten);
  dst[record::offset::kLevel] = static_cast<char>(level);
  EncodeFixed32(dst + record::offset::kEpoch, static_cast<uint32_t>(epoch));
  EncodeFixed32(dst + record::offset::kCrc,
                Checksum32(std::string_view(dst + 4, record::kRecordHeaderSize - 4)));
}

void SealRecord(char* dst, size_t size, uint64_t epoch) {
  EncodeFixed32(dst + record::offset::kEpoch, static_cast<uint32_t>(epoch));
  EncodeFixed32(dst + record::offset::kCrc, Checksum32(std::string_view(dst + 4, size - 4)));
}

SegmentReader::SegmentReader(std::string_view data, uint32_t block_bytes, Priority level,
                             uint64_t epoch, uint64_t start_offset)
    : data_(data), block_bytes_(block_bytes), level_(level), epoch_(epoch), pos_(start_offset) {}

bool SegmentReader::IsPadding(uint64_t offset) const {
  const uint64_t block_left = block_bytes_ - offset % block_bytes_;
  if (block_left < record::kRecordHeaderSize) {
    return true;
  }
  if (data_.size() - offset < record::kRecordHeaderSize) {
    return false;
  }
  const char* h = data_.data() + offset;
  return static_cast<uint8_t>(h[record::offset::kType]) ==
             static_cast<uint8_t>(record::RecordType::kUnwritten) &&
         DecodeFixed32(h + record::offset::kLength) == block_left - record::kRecordHeaderSize &&
         DecodeFixed32(h + record::offset::kEpoch) == static_cast<uint32_t>(epoch_) &&
         DecodeFixed32(h + record::offset::kCrc) ==
             Checksum32(std::string_view(h + 4, record::kRecordHeaderSize - 4));
}

uint64_t SegmentReader::NextValidBlockStart(uint64_t offset) const {
  for (uint64_t b = (offset / block_bytes_ + 1) * block_bytes_; b < data_.size();
       b += block_bytes_) {
    if (ValidRecordAt(data_, b, block_bytes_, level_, epoch_)) {
      return b;
    }
  }
  return data_.size();
}

bool SegmentReader::Next(std::string_view* record, uint64_t* offset) {
  while (pos_ < data_.size()) {
    if (ValidRecordAt(data_, pos_, block_bytes_, level_, epoch_)) {
      const uint64_t size = record::RecordSizeAt(data_.data() + pos_);
      *record = data_.substr(pos_, size);
      *offset = pos_;
      pos_ += size;
      ++records_;
      return true;
    }
    const bool padding = IsPadding(pos_);
    const uint64_t next = NextValidBlockStart(pos_);
    if (next >= data_.size()) {
      // Nothing valid follows: the end of the data, torn or clean.
      return false;
    }
    if (!padding) {
      ++corrupt_records_;
      corrupt_bytes_ += next - pos_;
      if (damage_offsets_.size() < kMaxDamageOffsets) {
        damage_offsets_.push_back(pos_);
      }
    }
    pos_ = padding ? (pos_ / block_bytes_ + 1) * block_bytes_ : next;
  }
  return false;
}

}  // namespace gridgate::spill
