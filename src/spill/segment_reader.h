#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "event/priority.h"

namespace gridgate::spill {

// True when a valid record of `level` and `epoch` starts at `offset` of a
// segment's data region `data`: a FULL record whose length fits the rest of
// its block and the data, with the segment's epoch and a matching checksum.
bool ValidRecordAt(std::string_view data, uint64_t offset, uint32_t block_bytes, Priority level,
                   uint64_t epoch);

// Writes the writer's padding marker at `dst`, the start of the last
// `block_left` bytes of a block: a record header of type kUnwritten whose
// length covers the rest of the block, stamped with the epoch and checksummed,
// so that a reader tells padding apart from lost or zeroed data. Nothing is
// written when block_left < kRecordHeaderSize (a reader skips such a gap).
void WritePadding(char* dst, uint64_t block_left, Priority level, uint64_t epoch);

// Stamps the epoch and the checksum into the record of `size` bytes at `dst`.
void SealRecord(char* dst, size_t size, uint64_t epoch);

// Reads the records of one segment's data region (the blocks after the
// header) in order, from `start_offset` on. Damage never stops it and never
// makes it loop: an invalid record followed, at a later block start, by a
// valid record of the same epoch is corruption, counted and skipped; an
// invalid record with no valid record after it is the end of the data (a torn
// or clean tail, which is not corruption). Zero bytes at the end of a block
// are the writer's padding (WritePadding).
//
// Not thread-safe. `data` must outlive the reader and not change under it
// (a writer may append beyond data.size()).
class SegmentReader {
 public:
  SegmentReader(std::string_view data, uint32_t block_bytes, Priority level, uint64_t epoch,
                uint64_t start_offset);

  // The next valid record: its bytes (a view into `data`) and data offset.
  // false at the end of the data.
  bool Next(std::string_view* record, uint64_t* offset);

  // Where the next read starts; after Next returned false, where the valid
  // data ends (a writer continuing the segment would start here).
  uint64_t position() const { return pos_; }
  uint64_t records() const { return records_; }
  uint64_t corrupt_records() const { return corrupt_records_; }
  uint64_t corrupt_bytes() const { return corrupt_bytes_; }
  // The data offsets of the first kMaxDamageOffsets damaged stretches.
  const std::vector<uint64_t>& damage_offsets() const { return damage_offsets_; }

  static constexpr size_t kMaxDamageOffsets = 16;

 private:
  // The first block start after `offset` that holds a valid record, or
  // data_.size() when none does.
  uint64_t NextValidBlockStart(uint64_t offset) const;
  bool IsPadding(uint64_t offset) const;

  const std::string_view data_;
  const uint32_t block_bytes_;
  const Priority level_;
  const uint64_t epoch_;
  uint64_t pos_;
  uint64_t records_ = 0;
  uint64_t corrupt_records_ = 0;
  uint64_t corrupt_bytes_ = 0;
  std::vector<uint64_t> damage_offsets_;
};

}  // namespace gridgate::spill
