#include "spill/segment_reader.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "common/coding.h"
#include "event/record_codec.h"
#include "fakes/event_factory.h"

namespace gridgate::spill {
namespace {

using gridgate::testing::EventFactory;
using gridgate::testing::PayloadId;

constexpr uint32_t kBlockBytes = 4096;
constexpr size_t kBlocks = 4;
constexpr Priority kLevel = Priority::kHigh;
constexpr uint64_t kEpoch = 7;
constexpr uint64_t kOtherEpoch = 8;

// One record as the reader returned it, decoded.
struct Got {
  uint64_t offset = 0;
  uint64_t size = 0;
  uint64_t seq = 0;
  uint64_t id = 0;  // the EventFactory id in its payload
  friend bool operator==(const Got&, const Got&) = default;
};

void PrintTo(const Got& g, std::ostream* os) {
  *os << "{offset " << g.offset << ", size " << g.size << ", seq " << g.seq << ", id " << g.id
      << "}";
}

// Everything one pass of a SegmentReader saw.
struct ReadResult {
  std::vector<Got> records;
  uint64_t position = 0;
  uint64_t corrupt_records = 0;
  uint64_t corrupt_bytes = 0;
  std::vector<uint64_t> damage_offsets;
};

// An in-memory segment data region of kBlocks blocks that records are
// appended to the way Segment::Append does it (a record that does not fit the
// rest of its block pads the block and starts the next one), and that a test
// can then damage and read back.
class SegmentReaderTest : public ::testing::Test {
 protected:
  SegmentReaderTest() : data_(kBlockBytes * kBlocks, '\0') {}

  // Appends `event` as record `seq` sealed with `epoch`; its data offset, or
  // nullopt when the region is full. Ids in the payload equal `seq`.
  std::optional<uint64_t> Write(const Event& event, uint64_t seq, uint64_t epoch = kEpoch) {
    const uint64_t size = record::RecordSize(event);
    const uint64_t block_left = kBlockBytes - write_pos_ % kBlockBytes;
    if (size > block_left) {
      if (write_pos_ + block_left >= data_.size()) {
        return std::nullopt;
      }
      WritePadding(data_.data() + write_pos_, block_left, event.priority, epoch);
      write_pos_ += block_left;
    }
    if (write_pos_ + size > data_.size()) {
      return std::nullopt;
    }
    const uint64_t offset = write_pos_;
    record::EncodeRecord(event, Seq{seq}, data_.data() + offset);
    SealRecord(data_.data() + offset, size, epoch);
    write_pos_ += size;
    written_.push_back(Got{offset, size, seq, seq});
    return offset;
  }

  // Writes `level` events of `payload_bytes` bytes (seq from `first_seq` on)
  // until the region is full or `max_records` are written.
  void Fill(size_t payload_bytes, uint64_t first_seq = 1, size_t max_records = SIZE_MAX,
            Priority level = kLevel, uint64_t epoch = kEpoch) {
    for (size_t i = 0; i < max_records; ++i) {
      if (!Write(factory_.Make(level, first_seq + i, payload_bytes), first_seq + i, epoch)) {
        return;
      }
    }
  }

  // An event of kLevel whose record is exactly `record_bytes` long (at least
  // the size of one with a short payload).
  Event MakeOfRecordSize(uint64_t seq, size_t record_bytes) {
    const Event shortest = factory_.Make(kLevel, seq, 0);
    const size_t fixed = record::RecordSize(shortest) - shortest.payload.size();
    const Event event = factory_.Make(kLevel, seq, record_bytes - fixed);
    EXPECT_EQ(record::RecordSize(event), record_bytes);
    return event;
  }

  // Starts the region over, as a reused slot does: the old bytes stay.
  void Rewind() {
    write_pos_ = 0;
    written_.clear();
  }

  ReadResult Read(uint64_t start_offset = 0, uint64_t epoch = kEpoch, Priority level = kLevel) {
    SegmentReader reader(data_, kBlockBytes, level, epoch, start_offset);
    ReadResult result;
    std::string_view record;
    uint64_t offset = 0;
    while (reader.Next(&record, &offset)) {
      Event event;
      size_t size = 0;
      const Status s = record::DecodeRecord(record, &event, &size);
      EXPECT_TRUE(s.ok()) << "offset " << offset << ": " << s.ToString();
      EXPECT_EQ(size, record.size());
      EXPECT_EQ(event.priority, level);
      result.records.push_back(
          Got{offset, record.size(), event.seq.value, PayloadId(event.payload)});
    }
    EXPECT_EQ(reader.records(), result.records.size());
    result.position = reader.position();
    result.corrupt_records = reader.corrupt_records();
    result.corrupt_bytes = reader.corrupt_bytes();
    result.damage_offsets = reader.damage_offsets();
    return result;
  }

  void FlipByte(uint64_t offset, uint8_t mask = 0xff) {
    data_[offset] = static_cast<char>(data_[offset] ^ mask);
  }
  void TruncateAt(uint64_t size) { data_.resize(size); }
  void ZeroRange(uint64_t offset, uint64_t n) { data_.replace(offset, n, n, '\0'); }

  // The records written so far whose block index is `block`.
  std::vector<Got> WrittenInBlock(size_t block) const {
    std::vector<Got> out;
    for (const Got& g : written_) {
      if (g.offset / kBlockBytes == block) {
        out.push_back(g);
      }
    }
    return out;
  }

  EventFactory factory_;
  std::string data_;
  uint64_t write_pos_ = 0;
  std::vector<Got> written_;  // every record written, in order
};

TEST_F(SegmentReaderTest, RoundTripAcrossBlocksWithPadding) {
  // Sizes that do not divide the block, so every block ends in padding.
  uint64_t seq = 1;
  while (Write(factory_.Make(kLevel, seq, 150 + (seq * 97) % 600), seq)) {
    ++seq;
  }
  ASSERT_GT(WrittenInBlock(kBlocks - 1).size(), 0u) << "the writes should reach the last block";
  for (size_t b = 0; b + 1 < kBlocks; ++b) {
    const Got last = WrittenInBlock(b).back();
    ASSERT_LT(last.offset + last.size, (b + 1) * kBlockBytes) << "block " << b << " has no padding";
  }

  const ReadResult r = Read();
  EXPECT_EQ(r.records, written_);
  EXPECT_EQ(r.position, write_pos_);
  EXPECT_EQ(r.corrupt_records, 0u);
  EXPECT_EQ(r.corrupt_bytes, 0u);
  EXPECT_TRUE(r.damage_offsets.empty());
}

TEST_F(SegmentReaderTest, RecordThatFillsItsBlockExactlyIsFollowedByTheNextBlock) {
  ASSERT_EQ(Write(MakeOfRecordSize(1, kBlockBytes), 1), 0u);
  ASSERT_EQ(write_pos_, kBlockBytes);
  Fill(300, 2, 5);

  const ReadResult r = Read();
  EXPECT_EQ(r.records, written_);
  EXPECT_EQ(r.position, write_pos_);
  EXPECT_EQ(r.corrupt_records, 0u);
}

TEST_F(SegmentReaderTest, GapTooSmallForAPaddingMarkerIsSkippedWhateverItHolds) {
  const size_t gap = record::kRecordHeaderSize - 1;
  ASSERT_TRUE(Write(MakeOfRecordSize(1, kBlockBytes - gap), 1));
  ASSERT_EQ(write_pos_, kBlockBytes - gap);
  Fill(300, 2, 5);
  ASSERT_EQ(WrittenInBlock(1).size(), 5u);
  // No marker fits, so the writer leaves whatever was there.
  data_.replace(kBlockBytes - gap, gap, gap, '\xab');

  const ReadResult r = Read();
  EXPECT_EQ(r.records, written_);
  EXPECT_EQ(r.corrupt_records, 0u);
}

TEST_F(SegmentReaderTest, PaddingMarkersAreNotCorruption) {
  Fill(1000);
  // 1081-byte records: three per block, and a 853-byte marker after them.
  for (size_t b = 0; b + 1 < kBlocks; ++b) {
    const Got last = WrittenInBlock(b).back();
    const uint64_t pad = last.offset + last.size;
    ASSERT_LT(pad, (b + 1) * kBlockBytes);
    EXPECT_EQ(data_[pad + record::offset::kType], 0) << "marker type in block " << b;
    EXPECT_EQ(DecodeFixed32(data_.data() + pad + record::offset::kLength),
              (b + 1) * kBlockBytes - pad - record::kRecordHeaderSize);
  }

  const ReadResult r = Read();
  EXPECT_EQ(r.records, written_);
  EXPECT_EQ(r.corrupt_records, 0u);
  EXPECT_EQ(r.corrupt_bytes, 0u);
}

TEST_F(SegmentReaderTest, StaleEpochRecordsAreNeverRead) {
  // The previous lap filled the region; this lap writes the very same events
  // (same bytes but for the epoch) over its first block and a half.
  Fill(200, 1, SIZE_MAX, kLevel, kOtherEpoch);
  const std::vector<Got> old_lap = written_;
  Rewind();
  Fill(200, 1, old_lap.size() * 3 / 8, kLevel, kEpoch);
  ASSERT_GT(WrittenInBlock(1).size(), 0u);
  ASSERT_LT(write_pos_, 2 * kBlockBytes);

  const ReadResult r = Read();
  EXPECT_EQ(r.records, written_);
  EXPECT_EQ(r.position, write_pos_) << "the stale bytes are the end of the data";
  EXPECT_EQ(r.corrupt_records, 0u);
  EXPECT_EQ(r.corrupt_bytes, 0u);
}

TEST_F(SegmentReaderTest, StaleBlocksAfterThisLapsPaddingAreTheEndNotCorruption) {
  Fill(200, 1, SIZE_MAX, kLevel, kOtherEpoch);
  Rewind();
  // Three 1081-byte records fill block 0, the fourth pads it and opens block 1.
  Fill(1000, 100, 4, kLevel, kEpoch);
  ASSERT_EQ(WrittenInBlock(1).size(), 1u);

  const ReadResult r = Read();
  EXPECT_EQ(r.records, written_);
  EXPECT_EQ(r.corrupt_records, 0u);
}

TEST_F(SegmentReaderTest, RecordsOfAnotherLevelAreNotRead) {
  Fill(300, 1, SIZE_MAX, Priority::kLow);
  const std::vector<Got> low = written_;

  const ReadResult r = Read();
  EXPECT_TRUE(r.records.empty());
  EXPECT_EQ(r.corrupt_records, 0u) << "nothing of this level follows: the end of the data";
  EXPECT_EQ(Read(0, kEpoch, Priority::kLow).records, low);
}

TEST_F(SegmentReaderTest, ForeignLevelBlockBeforeOwnRecordsIsSkippedAsDamage) {
  Fill(1000, 1, 3, Priority::kLow);  // block 0
  written_.clear();
  Fill(1000, 10, SIZE_MAX, kLevel);  // blocks 1..3

  const ReadResult r = Read();
  EXPECT_EQ(r.records, written_);
  EXPECT_EQ(r.corrupt_records, 1u);
  EXPECT_EQ(r.damage_offsets, std::vector<uint64_t>{0});
}

TEST_F(SegmentReaderTest, TruncationAtEveryOffsetReturnsTheWholeRecordsBeforeTheCut) {
  uint64_t seq = 1;
  while (Write(factory_.Make(kLevel, seq, 100 + (seq * 131) % 900), seq)) {
    ++seq;
  }
  const std::string full = data_;
  for (uint64_t cut = 0; cut <= full.size(); ++cut) {
    data_ = full;
    TruncateAt(cut);
    std::vector<Got> expected;
    uint64_t end = 0;
    for (const Got& g : written_) {
      if (g.offset + g.size <= cut) {
        expected.push_back(g);
        end = g.offset + g.size;
      }
    }
    const ReadResult r = Read();
    ASSERT_EQ(r.records, expected) << "cut at " << cut;
    ASSERT_EQ(r.corrupt_records, 0u) << "a torn tail is not corruption; cut at " << cut;
    ASSERT_EQ(r.corrupt_bytes, 0u) << "cut at " << cut;
    ASSERT_EQ(r.position, end) << "a writer continues after the last whole record; cut at " << cut;
  }
}

TEST_F(SegmentReaderTest, FlippedByteInAMiddleRecordSkipsTheRestOfItsBlockOnly) {
  Fill(200);
  const std::vector<Got> block0 = WrittenInBlock(0);
  ASSERT_GE(block0.size(), 5u);
  const Got victim = block0[block0.size() / 2];
  std::vector<Got> expected;
  for (const Got& g : written_) {
    if (g.offset < victim.offset || g.offset >= kBlockBytes) {
      expected.push_back(g);
    }
  }
  ASSERT_GT(expected.size(), block0.size()) << "later blocks should hold records";

  const std::string clean = data_;
  for (uint64_t at = victim.offset; at < victim.offset + victim.size; ++at) {
    for (uint8_t mask : {0x01, 0x80, 0xff}) {
      data_ = clean;
      FlipByte(at, mask);
      const ReadResult r = Read();
      ASSERT_EQ(r.records, expected) << "flip " << int{mask} << " at " << at;
      ASSERT_EQ(r.corrupt_records, 1u) << "flip " << int{mask} << " at " << at;
      ASSERT_EQ(r.corrupt_bytes, kBlockBytes - victim.offset) << "flip at " << at;
      ASSERT_EQ(r.damage_offsets, std::vector<uint64_t>{victim.offset}) << "flip at " << at;
      ASSERT_EQ(r.position, write_pos_) << "flip at " << at;
    }
  }
}

TEST_F(SegmentReaderTest, ZeroedRecordsMidBlockAreCorruptionNotPadding) {
  Fill(200);
  const std::vector<Got> block0 = WrittenInBlock(0);
  const Got victim = block0[2];
  ZeroRange(victim.offset, 3 * victim.size);
  std::vector<Got> expected(block0.begin(), block0.begin() + 2);
  for (const Got& g : written_) {
    if (g.offset >= kBlockBytes) {
      expected.push_back(g);
    }
  }

  const ReadResult r = Read();
  EXPECT_EQ(r.records, expected);
  EXPECT_EQ(r.corrupt_records, 1u);
  EXPECT_EQ(r.damage_offsets, std::vector<uint64_t>{victim.offset});
}

TEST_F(SegmentReaderTest, ZeroedPageAfterPaddingIsCorruptionNotPadding) {
  Fill(1000);  // every block ends with a padding marker
  const Got last0 = WrittenInBlock(0).back();
  ASSERT_LT(last0.offset + last0.size, kBlockBytes);
  ZeroRange(kBlockBytes, kBlockBytes);  // block 1, one 4 KiB page
  std::vector<Got> expected;
  for (const Got& g : written_) {
    if (g.offset / kBlockBytes != 1) {
      expected.push_back(g);
    }
  }

  const ReadResult r = Read();
  EXPECT_EQ(r.records, expected);
  EXPECT_EQ(r.corrupt_records, 1u) << "a zeroed page with records after it is lost data";
  EXPECT_EQ(r.damage_offsets, std::vector<uint64_t>{kBlockBytes});
  EXPECT_EQ(r.corrupt_bytes, kBlockBytes);
}

TEST_F(SegmentReaderTest, ZeroedPageAtABlockStartIsCorruption) {
  // The record before block 1 ends exactly at the block boundary.
  ASSERT_TRUE(Write(MakeOfRecordSize(1, kBlockBytes), 1));
  Fill(1000, 2);
  ZeroRange(kBlockBytes, kBlockBytes);
  std::vector<Got> expected;
  for (const Got& g : written_) {
    if (g.offset / kBlockBytes != 1) {
      expected.push_back(g);
    }
  }

  const ReadResult r = Read();
  EXPECT_EQ(r.records, expected);
  EXPECT_EQ(r.corrupt_records, 1u);
  EXPECT_EQ(r.damage_offsets, std::vector<uint64_t>{kBlockBytes});
}

TEST_F(SegmentReaderTest, ZeroedTailIsTheEndOfTheData) {
  Fill(200);
  ZeroRange(2 * kBlockBytes, 2 * kBlockBytes);
  std::vector<Got> expected;
  for (const Got& g : written_) {
    if (g.offset < 2 * kBlockBytes) {
      expected.push_back(g);
    }
  }

  const ReadResult r = Read();
  EXPECT_EQ(r.records, expected);
  EXPECT_EQ(r.corrupt_records, 0u);
}

TEST_F(SegmentReaderTest, StartOffsetSkipsEarlierRecords) {
  Fill(300);
  ASSERT_GT(written_.size(), 10u);
  const size_t k = written_.size() / 3;
  const ReadResult r = Read(written_[k].offset);
  EXPECT_EQ(r.records, std::vector<Got>(written_.begin() + k, written_.end()));
  EXPECT_EQ(r.corrupt_records, 0u);

  const ReadResult from_block = Read(2 * kBlockBytes);
  ASSERT_FALSE(from_block.records.empty());
  EXPECT_EQ(from_block.records.front(), WrittenInBlock(2).front());
  EXPECT_EQ(from_block.records.size(), WrittenInBlock(2).size() + WrittenInBlock(3).size());

  const ReadResult at_end = Read(write_pos_);
  EXPECT_TRUE(at_end.records.empty());
  EXPECT_EQ(at_end.position, write_pos_);
}

TEST_F(SegmentReaderTest, ValidRecordAtRejectsALengthThatRunsPastTheBlock) {
  // A sealed, decodable 300-byte record that starts 100 bytes before the end
  // of block 0: its checksum matches, only the block boundary is wrong.
  const Event event = MakeOfRecordSize(1, 300);
  const size_t size = record::RecordSize(event);
  ASSERT_EQ(size, 300u);
  const uint64_t at = kBlockBytes - 100;
  record::EncodeRecord(event, Seq{1}, data_.data() + at);
  SealRecord(data_.data() + at, size, kEpoch);
  Event decoded;
  size_t decoded_size = 0;
  ASSERT_TRUE(
      record::DecodeRecord(std::string_view(data_).substr(at), &decoded, &decoded_size).ok());

  EXPECT_FALSE(ValidRecordAt(data_, at, kBlockBytes, kLevel, kEpoch));

  // The same record placed where it fits is valid: the length is the reason.
  const uint64_t fits = kBlockBytes - size;
  record::EncodeRecord(event, Seq{1}, data_.data() + fits);
  SealRecord(data_.data() + fits, size, kEpoch);
  EXPECT_TRUE(ValidRecordAt(data_, fits, kBlockBytes, kLevel, kEpoch));
}

TEST_F(SegmentReaderTest, ValidRecordAtChecksLevelEpochAndBounds) {
  const uint64_t at = *Write(factory_.Make(kLevel, 1, 200), 1);
  EXPECT_TRUE(ValidRecordAt(data_, at, kBlockBytes, kLevel, kEpoch));
  EXPECT_FALSE(ValidRecordAt(data_, at, kBlockBytes, Priority::kLow, kEpoch));
  EXPECT_FALSE(ValidRecordAt(data_, at, kBlockBytes, kLevel, kOtherEpoch));
  EXPECT_FALSE(ValidRecordAt(data_, data_.size(), kBlockBytes, kLevel, kEpoch));
  EXPECT_FALSE(ValidRecordAt(data_, data_.size() + 4096, kBlockBytes, kLevel, kEpoch));
  EXPECT_FALSE(ValidRecordAt(std::string_view(data_).substr(0, write_pos_ - 1), at, kBlockBytes,
                             kLevel, kEpoch));
}

}  // namespace
}  // namespace gridgate::spill
