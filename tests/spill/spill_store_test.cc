#include "spill/spill_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/coding.h"
#include "event/record_codec.h"
#include "fakes/event_factory.h"
#include "fakes/fake_clock.h"
#include "spill/segment_reader.h"
#include "spill/spill_test_util.h"

namespace gridgate::spill {
namespace {

using gridgate::testing::EventFactory;
using gridgate::testing::FakeClock;

constexpr uint32_t kBlockBytes = 4096;
constexpr uint64_t kBlocksPerSegment = 4;
constexpr uint64_t kSegmentBytes = kSegmentHeaderBytes + kBlocksPerSegment * kBlockBytes;
// The largest record the filter would write: a 1 KiB payload, the record
// overhead, and meter id and type at their limits.
constexpr size_t kMaxRecordBytes = 1024 + record::kRecordOverhead + 510;
constexpr size_t kPayloadBytes = 200;

// The record size of an EventFactory event with `payload_bytes` of payload.
size_t RecordBytes(size_t payload_bytes = kPayloadBytes) {
  EventFactory factory;
  return record::RecordSize(factory.Make(Priority::kLow, 1, payload_bytes));
}
// How many default-size records a block and a segment hold.
uint64_t PerBlock() { return kBlockBytes / RecordBytes(); }
uint64_t PerSegment() { return kBlocksPerSegment * PerBlock(); }
// The data offset of the `index`-th default-size record of a segment.
uint64_t RecordOffset(uint64_t index) {
  return (index / PerBlock()) * kBlockBytes + (index % PerBlock()) * RecordBytes();
}

// [first, first + count) as a list.
std::vector<uint64_t> SeqRange(uint64_t first, uint64_t count) {
  std::vector<uint64_t> seqs;
  for (uint64_t i = 0; i < count; ++i) {
    seqs.push_back(first + i);
  }
  return seqs;
}

// One record as the drain worker hands it to memory: a copy of its bytes.
struct Drained {
  uint64_t seq = 0;
  uint32_t epoch = 0;  // from the record header
  std::string bytes;
  std::string payload;
  Priority level = Priority::kLow;
};

std::vector<uint64_t> Seqs(const std::vector<Drained>& records) {
  std::vector<uint64_t> seqs;
  for (const Drained& d : records) {
    seqs.push_back(d.seq);
  }
  return seqs;
}

// A real SpillStore in a fresh directory with small segments (4 blocks of
// 4 KiB), driven the way the filter drives it: single-threaded, draining
// through DrainWindow and SegmentReader as the drain worker will.
class SpillStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = MakeTempDir();
    ASSERT_FALSE(root_.empty());
    options_.dir = root_ + "/spill";
    options_.block_bytes = kBlockBytes;
    options_.segment_bytes = kSegmentBytes;
    options_.disk_budget_bytes = 8 * kSegmentBytes;
    options_.fsync = FsyncPolicy::kNever;
  }

  void TearDown() override {
    store_.reset();
    RemoveTree(root_);
  }

  // Opens the store on options_; fails the test when Open fails.
  void Open() {
    auto opened = SpillStore::Open(options_, kMaxRecordBytes, &clock_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
    next_seq_ = std::max(next_seq_, store_->next_seq());
  }
  // Destroys the store without FlushLevel: what a crash leaves behind.
  void Close() { store_.reset(); }
  void Reopen() {
    Close();
    Open();
  }

  // Appends an event of `level` with the next sequence number; its seq.
  Status TryWrite(Priority level, size_t payload_bytes, uint64_t* seq) {
    const uint64_t next = next_seq_;
    const Event event = events_.Make(level, next, payload_bytes);
    SpillStore::Appended appended;
    Status s = store_->Append(event, Seq{next}, &appended);
    if (s.ok()) {
      EXPECT_EQ(appended.record.size(), record::RecordSize(event));
      EXPECT_EQ(record::RecordSeq(appended.record.data()).value, next);
      EXPECT_GE(appended.fd, 0);
      ++next_seq_;
      payloads_[next] = std::string(event.payload);
      epochs_[next] = DecodeFixed32(appended.record.data() + record::offset::kEpoch);
      *seq = next;
    }
    return s;
  }
  uint64_t Write(Priority level, size_t payload_bytes = kPayloadBytes) {
    uint64_t seq = 0;
    const Status s = TryWrite(level, payload_bytes, &seq);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return seq;
  }
  std::vector<uint64_t> WriteMany(Priority level, uint64_t count) {
    std::vector<uint64_t> seqs;
    for (uint64_t i = 0; i < count; ++i) {
      seqs.push_back(Write(level));
    }
    return seqs;
  }
  // Writes until the store refuses; the accepted seqs, and the refusal in *refusal.
  std::vector<uint64_t> WriteUntilRefused(Priority level, Status* refusal) {
    std::vector<uint64_t> seqs;
    for (uint64_t i = 0; i < 100 * PerSegment(); ++i) {
      uint64_t seq = 0;
      Status s = TryWrite(level, kPayloadBytes, &seq);
      if (!s.ok()) {
        *refusal = std::move(s);
        return seqs;
      }
      seqs.push_back(seq);
    }
    ADD_FAILURE() << "the store never refused a write";
    return seqs;
  }

  // Drains up to `max_records` of `level` the way the drain worker
  // (filter/filter_drain.cc) does: window, reader, copies, commit. A reader
  // that ran out before the window's end stopped at damage (the window ends
  // at the write position), so the commit goes to the window's end. Stops,
  // failing the test, at a window that makes no progress rather than loop.
  std::vector<Drained> Drain(Priority level, uint64_t max_records = UINT64_MAX) {
    std::vector<Drained> out;
    DrainWindow window;
    while (out.size() < max_records && store_->NextDrainWindow(level, &window)) {
      EXPECT_EQ(window.level, level);
      SegmentReader reader(window.data, window.block_bytes, window.level, window.epoch,
                           window.from);
      uint64_t records = 0;
      uint64_t bytes = 0;
      bool at_end = true;
      std::string_view record;
      uint64_t offset = 0;
      while (true) {
        if (out.size() >= max_records) {
          at_end = false;
          break;
        }
        if (!reader.Next(&record, &offset)) {
          break;
        }
        Drained d;
        d.bytes = std::string(record);
        d.seq = record::RecordSeq(record.data()).value;
        d.epoch = DecodeFixed32(record.data() + record::offset::kEpoch);
        Event event;
        size_t size = 0;
        EXPECT_TRUE(record::DecodeRecord(d.bytes, &event, &size).ok());
        d.payload = std::string(event.payload);
        d.level = event.priority;
        out.push_back(std::move(d));
        ++records;
        bytes += record.size();
      }
      const uint64_t to = at_end ? window.data.size() : reader.position();
      store_->CommitDrain(window, to, records, bytes, reader.damage_offsets(),
                          reader.corrupt_bytes());
      if (to == window.from) {
        ADD_FAILURE() << "the " << PriorityName(level) << " drain window at data offset "
                      << window.from << " of " << window.data.size() << " bytes is empty";
        break;
      }
    }
    return out;
  }

  // Acknowledges `records` of `level`: one Resolve per run of one epoch.
  void Resolve(Priority level, const std::vector<Drained>& records) {
    size_t i = 0;
    while (i < records.size()) {
      size_t j = i;
      while (j < records.size() && records[j].epoch == records[i].epoch) {
        ++j;
      }
      store_->Resolve(level, records[i].epoch, j - i);
      i = j;
    }
  }

  // Each drained record is the event written with its seq, of `level`.
  void ExpectIntact(const std::vector<Drained>& records, Priority level) {
    for (const Drained& d : records) {
      EXPECT_EQ(d.level, level) << "seq " << d.seq;
      auto it = payloads_.find(d.seq);
      ASSERT_NE(it, payloads_.end()) << "seq " << d.seq << " was never written";
      EXPECT_EQ(d.payload, it->second) << "seq " << d.seq;
    }
  }

  std::string LevelDir(Priority level) const {
    return options_.dir + "/" + std::string(PriorityName(level));
  }
  std::string SegmentPath(Priority level, uint32_t slot) const {
    return LevelDir(level) + "/" + SegmentFileName(slot);
  }
  size_t SegmentFileCount() const {
    size_t n = 0;
    for (Priority p : kAllPriorities) {
      n += SegmentFileNames(LevelDir(p)).size();
    }
    return n;
  }
  // Overwrites data bytes of a segment file (offsets after the header).
  void WriteData(Priority level, uint32_t slot, uint64_t data_offset, const std::string& bytes) {
    WriteAt(SegmentPath(level, slot), kSegmentHeaderBytes + data_offset, bytes);
  }

  std::string root_;
  SpillOptions options_;
  FakeClock clock_;
  EventFactory events_;
  std::unique_ptr<SpillStore> store_;
  uint64_t next_seq_ = 1;
  std::map<uint64_t, std::string> payloads_;  // by seq, every accepted event
  std::map<uint64_t, uint32_t> epochs_;       // by seq, the epoch Append stamped
};

// --- Drain and resolve -----------------------------------------------------

TEST_F(SpillStoreTest, DrainReturnsEveryEventInOrderWithTheEpochAppendStamped) {
  ASSERT_NO_FATAL_FAILURE(Open());
  const std::vector<uint64_t> written = WriteMany(Priority::kNormal, PerSegment() + 10);
  EXPECT_EQ(store_->BacklogEvents(Priority::kNormal), written.size());
  EXPECT_EQ(store_->BacklogEvents(), written.size());

  const std::vector<Drained> drained = Drain(Priority::kNormal);

  EXPECT_EQ(Seqs(drained), written);
  ExpectIntact(drained, Priority::kNormal);
  for (const Drained& d : drained) {
    EXPECT_NE(d.epoch, 0u);
    EXPECT_EQ(d.epoch, epochs_[d.seq]) << "seq " << d.seq;
  }
  EXPECT_FALSE(store_->HasBacklog(Priority::kNormal));
  const SpillStats stats = store_->Stats();
  EXPECT_EQ(stats.levels[LevelIndex(Priority::kNormal)].spilled, written.size());
  EXPECT_EQ(stats.levels[LevelIndex(Priority::kNormal)].drained, written.size());
  EXPECT_EQ(stats.levels[LevelIndex(Priority::kNormal)].events_on_disk, 0u);
  EXPECT_EQ(stats.corrupt_records, 0u);
  DrainWindow window;
  EXPECT_FALSE(store_->NextDrainWindow(Priority::kNormal, &window));
}

TEST_F(SpillStoreTest, PartialDrainsResumeWhereTheyStopped) {
  ASSERT_NO_FATAL_FAILURE(Open());
  const std::vector<uint64_t> written = WriteMany(Priority::kHigh, 2 * PerSegment() + 3);

  std::vector<uint64_t> seen;
  for (uint64_t take : {1u, 5u, 17u, 40u, 1000u}) {
    const std::vector<Drained> part = Drain(Priority::kHigh, take);
    EXPECT_LE(part.size(), take);
    for (uint64_t seq : Seqs(part)) {
      seen.push_back(seq);
    }
    EXPECT_EQ(store_->BacklogEvents(Priority::kHigh), written.size() - seen.size());
  }
  EXPECT_EQ(seen, written);
}

TEST_F(SpillStoreTest, DrainedSegmentsAreFreedOnlyAfterResolve) {
  ASSERT_NO_FATAL_FAILURE(Open());
  const std::vector<uint64_t> written = WriteMany(Priority::kLow, 2 * PerSegment() + 20);
  ASSERT_EQ(store_->Stats().segments_live, 3u);
  ASSERT_EQ(store_->Stats().segments_free, 0u);

  const std::vector<Drained> drained = Drain(Priority::kLow);
  ASSERT_EQ(Seqs(drained), written);

  // Read back into memory is not acknowledged: every segment stays.
  EXPECT_EQ(store_->Stats().segments_live, 3u);
  EXPECT_EQ(store_->Stats().segments_free, 0u);
  EXPECT_EQ(store_->Stats().levels[LevelIndex(Priority::kLow)].segments_live, 3u);

  const std::vector<Drained> first(drained.begin(), drained.begin() + PerSegment() - 1);
  Resolve(Priority::kLow, first);
  EXPECT_EQ(store_->Stats().segments_free, 0u) << "one record of the first segment is unresolved";

  Resolve(Priority::kLow, {drained[PerSegment() - 1]});
  EXPECT_EQ(store_->Stats().segments_live, 2u);
  EXPECT_EQ(store_->Stats().segments_free, 1u);

  const std::vector<Drained> rest(drained.begin() + PerSegment(), drained.end());
  Resolve(Priority::kLow, rest);
  // The tail is still the writer's; the other sealed segment is free now.
  EXPECT_EQ(store_->Stats().segments_live, 1u);
  EXPECT_EQ(store_->Stats().segments_free, 2u);
  EXPECT_EQ(store_->Stats().disk_bytes_used, 3 * kSegmentBytes);

  // The next segment the level needs is a freed file, not a new one.
  WriteMany(Priority::kLow, PerSegment());
  EXPECT_EQ(SegmentFileCount(), 3u);
  EXPECT_EQ(store_->Stats().segments_live, 2u);
  EXPECT_EQ(store_->Stats().segments_free, 1u);
}

TEST_F(SpillStoreTest, WrapAroundReusesTheSameFilesAndKeepsFifo) {
  options_.disk_budget_bytes = 3 * kSegmentBytes;
  ASSERT_NO_FATAL_FAILURE(Open());
  uint64_t lcg = 12345;
  uint64_t total_bytes = 0;
  for (int round = 0; round < 60; ++round) {
    // Varied sizes, so that blocks end in padding of every length.
    std::vector<uint64_t> written;
    uint64_t round_bytes = 0;
    while (true) {
      lcg = lcg * 6364136223846793005u + 1442695040888963407u;
      const size_t payload = 40 + (lcg >> 33) % 1360;
      if (round_bytes + RecordBytes(payload) > 18000) {
        break;
      }
      round_bytes += RecordBytes(payload);
      written.push_back(Write(Priority::kLow, payload));
    }
    total_bytes += round_bytes;

    const std::vector<Drained> drained = Drain(Priority::kLow);
    ASSERT_EQ(Seqs(drained), written) << "round " << round;
    ExpectIntact(drained, Priority::kLow);
    Resolve(Priority::kLow, drained);

    ASSERT_LE(SegmentFileCount(), 3u) << "round " << round;
    const SpillStats stats = store_->Stats();
    ASSERT_LE(stats.segments_live + stats.segments_free, 3u) << "round " << round;
  }
  EXPECT_GT(total_bytes, 10 * 3 * kSegmentBytes) << "the ring did not wrap many times";
  EXPECT_EQ(SegmentFileNames(LevelDir(Priority::kLow)),
            (std::vector<std::string>{SegmentFileName(0), SegmentFileName(1), SegmentFileName(2)}));
}

TEST_F(SpillStoreTest, WriteThroughAppendCountsAsDrained) {
  ASSERT_NO_FATAL_FAILURE(Open());
  for (uint64_t i = 0; i < PerSegment() + 5; ++i) {
    ASSERT_FALSE(store_->HasBacklog(Priority::kCritical));
    Write(Priority::kCritical);
    store_->MarkLastDrained(Priority::kCritical);
  }
  EXPECT_FALSE(store_->HasBacklog(Priority::kCritical));
  DrainWindow window;
  EXPECT_FALSE(store_->NextDrainWindow(Priority::kCritical, &window));
  EXPECT_EQ(store_->Stats().levels[LevelIndex(Priority::kCritical)].drained, PerSegment() + 5);

  // The memory copies carry Append's epoch; resolving them frees the sealed segment.
  for (const auto& [seq, epoch] : epochs_) {
    store_->Resolve(Priority::kCritical, epoch, 1);
  }
  EXPECT_EQ(store_->Stats().segments_live, 1u);
  EXPECT_EQ(store_->Stats().segments_free, 1u);
}

// --- Disk budget -----------------------------------------------------------

TEST_F(SpillStoreTest, FullBudgetRefusesAppendAndLosesNothing) {
  options_.disk_budget_bytes = 3 * kSegmentBytes;
  ASSERT_NO_FATAL_FAILURE(Open());
  Status refusal;
  const std::vector<uint64_t> written = WriteUntilRefused(Priority::kLow, &refusal);
  EXPECT_EQ(refusal.code(), Status::Code::kResourceExhausted) << refusal.ToString();
  EXPECT_NE(refusal.message().find("budget"), std::string::npos) << refusal.message();
  EXPECT_EQ(written.size(), 3 * PerSegment());

  // Every level is refused, repeatedly, and refusing changes nothing.
  uint64_t seq = 0;
  EXPECT_EQ(TryWrite(Priority::kCritical, kPayloadBytes, &seq).code(),
            Status::Code::kResourceExhausted);
  EXPECT_EQ(TryWrite(Priority::kLow, kPayloadBytes, &seq).code(), Status::Code::kResourceExhausted);
  EXPECT_EQ(store_->Stats().disk_bytes_used, 3 * kSegmentBytes);
  EXPECT_EQ(store_->BacklogEvents(), written.size());
  EXPECT_EQ(SegmentFileCount(), 3u);

  const std::vector<Drained> drained = Drain(Priority::kLow);
  EXPECT_EQ(Seqs(drained), written);
  ExpectIntact(drained, Priority::kLow);

  // Drained is not acknowledged: still no room.
  EXPECT_EQ(TryWrite(Priority::kLow, kPayloadBytes, &seq).code(), Status::Code::kResourceExhausted);

  Resolve(Priority::kLow, drained);
  EXPECT_EQ(store_->Stats().segments_free, 2u);
  const uint64_t after = Write(Priority::kLow);
  EXPECT_EQ(Seqs(Drain(Priority::kLow)), std::vector<uint64_t>{after});
}

TEST_F(SpillStoreTest, FreedFilesMoveToTheLevelThatNeedsThem) {
  options_.disk_budget_bytes = 3 * kSegmentBytes;
  ASSERT_NO_FATAL_FAILURE(Open());
  Status refusal;
  const std::vector<uint64_t> low = WriteUntilRefused(Priority::kLow, &refusal);
  ASSERT_EQ(low.size(), 3 * PerSegment());
  Resolve(Priority::kLow, Drain(Priority::kLow));
  ASSERT_EQ(store_->Stats().segments_free, 2u);

  // No room for a new file: critical takes low's two free ones.
  std::vector<uint64_t> critical;
  for (uint64_t i = 0; i < 2 * PerSegment(); ++i) {
    uint64_t seq = 0;
    const Status s = TryWrite(Priority::kCritical, kPayloadBytes, &seq);
    ASSERT_TRUE(s.ok()) << "critical event " << i << ": " << s.ToString();
    critical.push_back(seq);
  }
  uint64_t seq = 0;
  EXPECT_EQ(TryWrite(Priority::kCritical, kPayloadBytes, &seq).code(),
            Status::Code::kResourceExhausted);
  EXPECT_EQ(SegmentFileNames(LevelDir(Priority::kCritical)).size(), 2u);
  EXPECT_EQ(SegmentFileNames(LevelDir(Priority::kLow)).size(), 1u);
  EXPECT_EQ(SegmentFileCount(), 3u);
  EXPECT_EQ(store_->Stats().levels[LevelIndex(Priority::kCritical)].segments_live, 2u);

  const std::vector<Drained> drained = Drain(Priority::kCritical);
  EXPECT_EQ(Seqs(drained), critical);
  ExpectIntact(drained, Priority::kCritical);

  // And what critical had is recovered from critical/ after a restart.
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(store_->BacklogEvents(Priority::kCritical), critical.size());
  EXPECT_EQ(Seqs(Drain(Priority::kCritical)), critical);
}

// --- Recovery --------------------------------------------------------------

TEST_F(SpillStoreTest, ReopenRecoversUndrainedEventsOfEveryLevelInOrder) {
  options_.disk_budget_bytes = 16 * kSegmentBytes;
  ASSERT_NO_FATAL_FAILURE(Open());
  std::map<Priority, std::vector<uint64_t>> written;
  for (uint64_t i = 0; i < 300; ++i) {
    const Priority level = i % 7 == 0   ? Priority::kCritical
                           : i % 3 == 0 ? Priority::kHigh
                                        : Priority::kLow;
    written[level].push_back(Write(level));
  }
  const uint64_t last_seq = next_seq_ - 1;

  ASSERT_NO_FATAL_FAILURE(Reopen());

  EXPECT_GT(store_->next_seq(), last_seq);
  for (Priority p : kAllPriorities) {
    SCOPED_TRACE(PriorityName(p));
    EXPECT_EQ(store_->BacklogEvents(p), written[p].size());
    EXPECT_EQ(store_->Stats().levels[LevelIndex(p)].recovered, written[p].size());
    const std::vector<Drained> drained = Drain(p);
    EXPECT_EQ(Seqs(drained), written[p]);
    ExpectIntact(drained, p);
  }
  EXPECT_EQ(store_->Stats().corrupt_records, 0u);
  EXPECT_EQ(store_->Stats().bad_segment_headers, 0u);
  EXPECT_TRUE(store_->damage().empty());
}

TEST_F(SpillStoreTest, ReopenedStoreAppendsAfterTheRecoveredEvents) {
  ASSERT_NO_FATAL_FAILURE(Open());
  const std::vector<uint64_t> before = WriteMany(Priority::kLow, PerSegment() / 2);
  ASSERT_NO_FATAL_FAILURE(Reopen());
  const std::vector<uint64_t> after = WriteMany(Priority::kLow, PerSegment());

  std::vector<uint64_t> all = before;
  all.insert(all.end(), after.begin(), after.end());
  EXPECT_EQ(Seqs(Drain(Priority::kLow)), all);
}

TEST_F(SpillStoreTest, ReclaimedSegmentsAreNotRecoveredButUnreclaimedAre) {
  ASSERT_NO_FATAL_FAILURE(Open());
  const std::vector<uint64_t> written = WriteMany(Priority::kLow, 2 * PerSegment() + 20);
  // Drain the first segment and part of the second; resolve all of that.
  const std::vector<Drained> drained = Drain(Priority::kLow, PerSegment() + 24);
  Resolve(Priority::kLow, drained);
  ASSERT_EQ(store_->Stats().segments_free, 1u);

  ASSERT_NO_FATAL_FAILURE(Reopen());

  // The second segment was drained in part and resolved in part, not
  // reclaimed: all of it comes back (at-least-once), the first does not.
  const std::vector<uint64_t> expected(written.begin() + PerSegment(), written.end());
  EXPECT_EQ(store_->BacklogEvents(Priority::kLow), expected.size());
  EXPECT_EQ(store_->Stats().segments_free, 1u);
  EXPECT_EQ(store_->Stats().segments_live, 2u);
  EXPECT_EQ(Seqs(Drain(Priority::kLow)), expected);
}

TEST_F(SpillStoreTest, SeqLeaseSurvivesReopenWithoutRecords) {
  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_EQ(store_->next_seq(), 1u);
  ASSERT_TRUE(store_->LeaseSeqs(1000).ok());
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_GE(store_->next_seq(), 1000u);
  EXPECT_EQ(store_->BacklogEvents(), 0u);
}

TEST_F(SpillStoreTest, UnreadableSeqLeaseIsReportedNotFatal) {
  ASSERT_NO_FATAL_FAILURE(Open());
  ASSERT_TRUE(store_->LeaseSeqs(1000).ok());
  next_seq_ = 5000;
  const uint64_t seq = Write(Priority::kHigh);
  Close();
  WriteAt(options_.dir + "/seq.state", 0, std::string(12, 'z'));

  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_GT(store_->next_seq(), seq) << "numbering resumes after the records on disk";
  ASSERT_EQ(store_->damage().size(), 1u);
  EXPECT_NE(store_->damage()[0].path.find("seq.state"), std::string::npos);
}

// --- Damage found at recovery ----------------------------------------------

TEST_F(SpillStoreTest, FlippedRecordIsCountedReportedAndSkipped) {
  ASSERT_NO_FATAL_FAILURE(Open());
  const std::vector<uint64_t> written = WriteMany(Priority::kLow, 2 * PerBlock() + 2);
  Close();
  // The last record of block 0: nothing else shares its block after it.
  const uint64_t damaged = PerBlock() - 1;
  const uint64_t offset = RecordOffset(damaged);
  WriteData(Priority::kLow, 0, offset + record::kRecordOverhead + 5, "garbage");

  ASSERT_NO_FATAL_FAILURE(Open());

  EXPECT_EQ(store_->Stats().corrupt_records, 1u);
  EXPECT_GT(store_->Stats().corrupt_bytes, 0u);
  ASSERT_EQ(store_->damage().size(), 1u);
  EXPECT_EQ(store_->damage()[0].path, SegmentPath(Priority::kLow, 0));
  EXPECT_EQ(store_->damage()[0].offset, offset);
  EXPECT_EQ(store_->BacklogEvents(Priority::kLow), written.size() - 1);

  std::vector<uint64_t> expected = written;
  expected.erase(expected.begin() + static_cast<std::ptrdiff_t>(damaged));
  const std::vector<Drained> drained = Drain(Priority::kLow);
  EXPECT_EQ(Seqs(drained), expected);
  ExpectIntact(drained, Priority::kLow);
  // Drain meets the same damage; it is not counted twice.
  EXPECT_EQ(store_->Stats().corrupt_records, 1u);
  EXPECT_EQ(store_->damage().size(), 1u);
}

TEST_F(SpillStoreTest, DamageMidBlockLosesOnlyTheRestOfThatBlock) {
  ASSERT_NO_FATAL_FAILURE(Open());
  const std::vector<uint64_t> written = WriteMany(Priority::kNormal, 3 * PerBlock());
  Close();
  const uint64_t damaged = PerBlock() + 3;  // the 4th record of block 1
  FlipByte(SegmentPath(Priority::kNormal, 0),
           kSegmentHeaderBytes + RecordOffset(damaged) + record::offset::kSeq);

  ASSERT_NO_FATAL_FAILURE(Open());

  EXPECT_EQ(store_->Stats().corrupt_records, 1u);
  EXPECT_EQ(store_->Stats().corrupt_bytes, 2 * kBlockBytes - RecordOffset(damaged));
  ASSERT_EQ(store_->damage().size(), 1u);
  EXPECT_EQ(store_->damage()[0].offset, RecordOffset(damaged));
  // A reader resyncs at the next block: block 1 from the damage on is gone.
  std::vector<uint64_t> expected(written.begin(), written.begin() + damaged);
  expected.insert(expected.end(), written.begin() + 2 * PerBlock(), written.end());
  EXPECT_EQ(store_->BacklogEvents(Priority::kNormal), expected.size());
  EXPECT_EQ(Seqs(Drain(Priority::kNormal)), expected);
}

TEST_F(SpillStoreTest, GarbageSegmentHeaderIsMovedAsideAndTheRestRecovered) {
  ASSERT_NO_FATAL_FAILURE(Open());
  const std::vector<uint64_t> written = WriteMany(Priority::kHigh, 2 * PerSegment() + 9);
  Close();
  const std::string path = SegmentPath(Priority::kHigh, 1);
  WriteAt(path, 0, "this is not a segment header");

  ASSERT_NO_FATAL_FAILURE(Open());

  EXPECT_EQ(store_->Stats().bad_segment_headers, 1u);
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_TRUE(std::filesystem::exists(path + ".bad"));
  ASSERT_EQ(store_->damage().size(), 1u);
  EXPECT_EQ(store_->damage()[0].path, path);
  std::vector<uint64_t> expected(written.begin(), written.begin() + PerSegment());
  expected.insert(expected.end(), written.begin() + 2 * PerSegment(), written.end());
  EXPECT_EQ(store_->BacklogEvents(Priority::kHigh), expected.size());
  EXPECT_EQ(Seqs(Drain(Priority::kHigh)), expected);

  // A new segment does not take the slot of the file moved aside.
  WriteMany(Priority::kHigh, PerSegment());
  EXPECT_TRUE(std::filesystem::exists(path + ".bad"));
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(SpillStoreTest, EveryHeaderByteFlipIsMovedAsideNotFatal) {
  ASSERT_NO_FATAL_FAILURE(Open());
  const std::vector<uint64_t> written = WriteMany(Priority::kLow, 2 * PerSegment() + 9);
  Close();
  const std::string path = SegmentPath(Priority::kLow, 1);
  const std::string original = ReadAt(path, 0, kHeaderUsedBytes);
  ASSERT_EQ(original.size(), kHeaderUsedBytes);

  for (uint64_t byte = 0; byte < kHeaderUsedBytes; ++byte) {
    SCOPED_TRACE("header byte " + std::to_string(byte));
    FlipByte(path, byte);
    ASSERT_NO_FATAL_FAILURE(Open());
    EXPECT_EQ(store_->Stats().bad_segment_headers, 1u);
    EXPECT_EQ(store_->BacklogEvents(Priority::kLow), written.size() - PerSegment());
    Close();
    ASSERT_EQ(std::rename((path + ".bad").c_str(), path.c_str()), 0);
    WriteAt(path, 0, original);
  }
  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_EQ(store_->Stats().bad_segment_headers, 0u);
  EXPECT_EQ(Seqs(Drain(Priority::kLow)), written);
}

TEST_F(SpillStoreTest, TornTailIsNotCorruption) {
  ASSERT_NO_FATAL_FAILURE(Open());
  const std::vector<uint64_t> written = WriteMany(Priority::kLow, PerBlock() / 2);
  Close();
  // Garbage after the last record, within the same block.
  WriteData(Priority::kLow, 0, RecordOffset(written.size()), std::string(100, '\xab'));

  ASSERT_NO_FATAL_FAILURE(Open());

  EXPECT_EQ(store_->Stats().corrupt_records, 0u);
  EXPECT_TRUE(store_->damage().empty());
  EXPECT_EQ(store_->BacklogEvents(Priority::kLow), written.size());
  EXPECT_EQ(Seqs(Drain(Priority::kLow)), written);
  EXPECT_EQ(store_->Stats().corrupt_records, 0u);
}

TEST_F(SpillStoreTest, TornLastRecordIsDroppedWithoutCorruption) {
  ASSERT_NO_FATAL_FAILURE(Open());
  const std::vector<uint64_t> written = WriteMany(Priority::kLow, PerBlock() + 3);
  Close();
  // The last record was being written when the power went: its end is zeros.
  WriteData(Priority::kLow, 0, RecordOffset(written.size()) - 10, std::string(10, '\0'));

  ASSERT_NO_FATAL_FAILURE(Open());

  EXPECT_EQ(store_->Stats().corrupt_records, 0u);
  EXPECT_TRUE(store_->damage().empty());
  const std::vector<uint64_t> expected(written.begin(), written.end() - 1);
  EXPECT_EQ(store_->BacklogEvents(Priority::kLow), expected.size());
  EXPECT_EQ(Seqs(Drain(Priority::kLow)), expected);
}

// --- Shutdown flush --------------------------------------------------------

TEST_F(SpillStoreTest, FlushLevelKeepsEveryEventExactlyOnceInOrder) {
  ASSERT_NO_FATAL_FAILURE(Open());
  // Memory-only events came first (seqs 1..10); then the level spilled.
  std::vector<std::string> memory_only;
  for (int i = 0; i < 10; ++i) {
    const uint64_t seq = next_seq_++;
    const Event event = events_.Make(Priority::kLow, seq);
    payloads_[seq] = std::string(event.payload);
    std::string bytes(record::RecordSize(event), '\0');
    record::EncodeRecord(event, Seq{seq}, bytes.data());
    memory_only.push_back(std::move(bytes));
  }
  const std::vector<uint64_t> on_disk = WriteMany(Priority::kLow, PerSegment() + 34);
  // Drained into memory, not acknowledged: the first segment and a few more.
  const std::vector<Drained> drained = Drain(Priority::kLow, PerSegment() + 4);
  ASSERT_EQ(drained.size(), PerSegment() + 4);

  // The memory queue at shutdown, oldest first.
  std::vector<std::string_view> queue;
  for (const std::string& r : memory_only) {
    queue.push_back(r);
  }
  for (const Drained& d : drained) {
    queue.push_back(d.bytes);
  }
  const Status s = store_->FlushLevel(Priority::kLow, queue);
  ASSERT_TRUE(s.ok()) << s.ToString();

  ASSERT_NO_FATAL_FAILURE(Reopen());

  const std::vector<uint64_t> expected = SeqRange(1, 10 + on_disk.size());
  EXPECT_EQ(store_->BacklogEvents(Priority::kLow), expected.size());
  const std::vector<Drained> all = Drain(Priority::kLow);
  EXPECT_EQ(Seqs(all), expected);
  ExpectIntact(all, Priority::kLow);
  EXPECT_EQ(store_->Stats().corrupt_records, 0u);
}

TEST_F(SpillStoreTest, FlushLevelOfAFullyDrainedLevelLeavesNothingOwed) {
  ASSERT_NO_FATAL_FAILURE(Open());
  WriteMany(Priority::kHigh, PerSegment() + 14);
  const std::vector<Drained> drained = Drain(Priority::kHigh);
  Resolve(Priority::kHigh, drained);
  ASSERT_TRUE(store_->FlushLevel(Priority::kHigh, {}).ok());

  ASSERT_NO_FATAL_FAILURE(Reopen());

  EXPECT_EQ(store_->BacklogEvents(), 0u);
  EXPECT_EQ(store_->Stats().segments_live, 0u);
  EXPECT_EQ(store_->Stats().segments_free, 2u);
  DrainWindow window;
  EXPECT_FALSE(store_->NextDrainWindow(Priority::kHigh, &window));
}

// A file keeps the records of its earlier laps past its write position; only
// the epoch keeps a reader from taking them for new ones. A file that leaves
// its level (to another level that needed it) and comes back after restarts
// must not get an epoch it already wrote records under.
TEST_F(SpillStoreTest, AcknowledgedRecordsStayGoneWhenAFileReturnsToItsLevel) {
  options_.disk_budget_bytes = kSegmentBytes;
  // Run 1: low fills the only file; everything is acknowledged; clean shutdown.
  ASSERT_NO_FATAL_FAILURE(Open());
  const std::vector<uint64_t> acked = WriteMany(Priority::kLow, PerSegment());
  Resolve(Priority::kLow, Drain(Priority::kLow));
  ASSERT_TRUE(store_->FlushLevel(Priority::kLow, {}).ok());
  Close();

  // Run 2: critical takes the (now free) file; acknowledged; clean shutdown.
  ASSERT_NO_FATAL_FAILURE(Open());
  ASSERT_EQ(store_->BacklogEvents(), 0u);
  Write(Priority::kCritical);
  ASSERT_EQ(SegmentFileNames(LevelDir(Priority::kCritical)).size(), 1u);
  Resolve(Priority::kCritical, Drain(Priority::kCritical));
  ASSERT_TRUE(store_->FlushLevel(Priority::kCritical, {}).ok());
  Close();

  // Run 3: the file goes back to low for one event; then a crash.
  ASSERT_NO_FATAL_FAILURE(Open());
  ASSERT_EQ(store_->BacklogEvents(), 0u);
  const uint64_t fresh = Write(Priority::kLow);
  ASSERT_EQ(SegmentFileNames(LevelDir(Priority::kLow)).size(), 1u);
  Close();

  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_EQ(store_->BacklogEvents(Priority::kLow), 1u);
  EXPECT_EQ(Seqs(Drain(Priority::kLow)), std::vector<uint64_t>{fresh})
      << "records of run 1 (seqs " << acked.front() << ".." << acked.back()
      << "), acknowledged long ago, came back";
}

// --- Damage met while draining ---------------------------------------------

// A bit flipped on disk in the last block of a sealed segment (its pages
// evicted and read back) looks like a torn tail to the reader; the drain
// commits past it to the window's end, and the store counts what it took as
// lost and moves on to the next segment.
TEST_F(SpillStoreTest, DamageInTheLastBlockOfASegmentDoesNotStallDraining) {
  ASSERT_NO_FATAL_FAILURE(Open());
  const std::vector<uint64_t> written = WriteMany(Priority::kNormal, PerSegment() + 10);
  const uint64_t damaged = PerSegment() - 4;  // in block 3 of the first segment
  WriteData(Priority::kNormal, 0, RecordOffset(damaged) + record::kRecordOverhead + 1, "XXXX");

  const std::vector<Drained> drained = Drain(Priority::kNormal);

  std::vector<uint64_t> expected(written.begin(), written.begin() + damaged);
  expected.insert(expected.end(), written.begin() + PerSegment(), written.end());
  EXPECT_EQ(Seqs(drained), expected);
  EXPECT_EQ(store_->Stats().levels[LevelIndex(Priority::kNormal)].lost_corrupt, 4u);
  EXPECT_EQ(store_->BacklogEvents(Priority::kNormal), 0u);
  // The operator is told which file lost them.
  EXPECT_EQ(store_->Stats().corrupt_records, 1u);
  ASSERT_EQ(store_->damage().size(), 1u);
  EXPECT_NE(store_->damage()[0].path.find("seg-000000.spill"), std::string::npos);
  EXPECT_NE(store_->damage()[0].what.find("4 records"), std::string::npos);
}

// --- Opening ---------------------------------------------------------------

TEST_F(SpillStoreTest, SecondOpenOfALiveDirectoryIsUnavailable) {
  ASSERT_NO_FATAL_FAILURE(Open());
  auto second = SpillStore::Open(options_, kMaxRecordBytes, &clock_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(second.status().message().find(options_.dir), std::string::npos)
      << second.status().message();

  // Once the first store is gone, the directory opens again.
  Close();
  ASSERT_NO_FATAL_FAILURE(Open());
}

TEST_F(SpillStoreTest, DefaultOptionsAreValidForTheFilterDefaults) {
  SpillOptions defaults;
  defaults.dir = options_.dir;
  // The filter's default largest record: 4096 payload + 48 + 255 + 255.
  EXPECT_TRUE(defaults.Validate(4096 + record::kRecordOverhead + 510).ok())
      << defaults.Validate(4096 + record::kRecordOverhead + 510).ToString();
  EXPECT_EQ(defaults.segment_bytes, kSegmentHeaderBytes + (uint64_t{64} << 20));
}

TEST_F(SpillStoreTest, OpenRejectsEachBadOptionByName) {
  auto expect_rejected = [&](const SpillOptions& o, size_t max_record_bytes,
                             const std::string& field) {
    SCOPED_TRACE(field);
    auto opened = SpillStore::Open(o, max_record_bytes, &clock_);
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(opened.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(opened.status().message().find(field), std::string::npos)
        << opened.status().message();
  };
  SpillOptions o = options_;
  o.dir = "";
  expect_rejected(o, kMaxRecordBytes, "dir");

  for (uint32_t bad : {0u, 1000u, 4097u, 6144u}) {
    o = options_;
    o.block_bytes = bad;
    expect_rejected(o, kMaxRecordBytes, "block_bytes");
  }
  expect_rejected(options_, kBlockBytes + 1, "block_bytes");

  for (uint64_t bad : {uint64_t{0}, uint64_t{kSegmentHeaderBytes}, kSegmentBytes + 1,
                       kSegmentBytes + kBlockBytes / 2}) {
    o = options_;
    o.segment_bytes = bad;
    expect_rejected(o, kMaxRecordBytes, "segment_bytes");
  }

  o = options_;
  o.disk_budget_bytes = kSegmentBytes - 1;
  expect_rejected(o, kMaxRecordBytes, "disk_budget_bytes");

  o = options_;
  o.fsync = FsyncPolicy::kInterval;
  o.fsync_interval_ms = 0;
  expect_rejected(o, kMaxRecordBytes, "fsync_interval_ms");

  // Nothing was created for the rejected options; good ones open.
  EXPECT_FALSE(std::filesystem::exists(options_.dir));
  o = options_;
  o.fsync_interval_ms = 0;  // unused with FsyncPolicy::kNever
  o.disk_budget_bytes = 0;  // half the free space
  auto opened = SpillStore::Open(o, kMaxRecordBytes, &clock_);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_GE(opened.value()->Stats().disk_budget_bytes, kSegmentBytes);
}

}  // namespace
}  // namespace gridgate::spill
