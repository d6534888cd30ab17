// The offline spill tool (gridgate spill verify|dump) on real spill
// directories written by a BackpressureFilter, intact and damaged.

#include "tools/spill_tool.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "fakes/event_factory.h"
#include "fakes/fake_clock.h"
#include "fakes/json_check.h"
#include "fakes/temp_dir.h"
#include "filter/backpressure_filter.h"
#include "spill/segment_format.h"

namespace gridgate::tools {
namespace {

// An event the filter put on disk, as pushed.
struct Spilled {
  Priority level = Priority::kLow;
  uint64_t seq = 0;
  std::string payload;
};

// A line of dump output, parsed.
struct DumpedRecord {
  std::string level;
  uint64_t seq = 0;
  std::string segment;
  uint64_t offset = 0;
  std::string payload;
};

constexpr uint64_t kBlockBytes = 4096;
constexpr uint64_t kSegmentBytes = spill::kSegmentHeaderBytes + 4 * kBlockBytes;

class SpillToolTest : public ::testing::Test {
 protected:
  // 64 KiB of memory in 4 KiB slabs; segments of 4 blocks of 4 KiB.
  filter::FilterOptions Options() {
    filter::FilterOptions o;
    o.budget_bytes = 64 * 1024;
    o.slab_bytes = 4096;
    o.max_event_bytes = 1024;
    o.clock = &clock_;
    spill::SpillOptions s;
    s.dir = dir_.path();
    s.block_bytes = kBlockBytes;
    s.segment_bytes = kSegmentBytes;
    s.disk_budget_bytes = 64 * kSegmentBytes;
    s.fsync = spill::FsyncPolicy::kNever;
    o.spill = s;
    return o;
  }

  void Open() {
    auto created = filter::BackpressureFilter::Create(Options());
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    filter_ = std::move(created).value();
  }

  // Pushes `event`; remembers it when it went to disk.
  void Push(const Event& event) {
    const std::vector<Event> events = {event};
    std::vector<filter::PushOutcome> outcomes(1);
    ASSERT_TRUE(filter_->Push(events, outcomes).ok());
    if (outcomes[0].result == filter::PushResult::kSpilled) {
      spilled_.push_back({event.priority, outcomes[0].seq.value, std::string(event.payload)});
    }
  }

  // Opens a filter and pushes low events until `low` of them are on disk
  // (three segments and more for 150), then `normal` normal events, which
  // spill too while memory is over its high watermark.
  void WriteSpillDir(size_t low = 150, size_t normal = 10) {
    Open();
    uint64_t id = 0;
    while (spilled_.size() < low) {
      ASSERT_LT(id, 10'000u) << "the low events never spilled";
      Push(factory_.Make(Priority::kLow, id++, 200, clock_.UnixNs()));
    }
    for (size_t i = 0; i < normal; ++i) {
      Push(factory_.Make(Priority::kNormal, id++, 200, clock_.UnixNs()));
    }
    ASSERT_EQ(spilled_.size(), low + normal) << "every event past the watermark spills";
  }

  // Drops the filter, as a crash would (no flush): what is on disk stays.
  void Close() { filter_.reset(); }

  // The spilled events of `level`, in push order.
  std::vector<Spilled> SpilledAt(Priority level) const {
    std::vector<Spilled> out;
    for (const Spilled& s : spilled_) {
      if (s.level == level) {
        out.push_back(s);
      }
    }
    return out;
  }

  int Verify(std::string* out, std::string* err = nullptr) {
    std::ostringstream o;
    std::ostringstream e;
    const int rc = VerifySpillDir(dir_.path(), o, e);
    *out = o.str();
    if (err != nullptr) {
      *err = e.str();
    }
    return rc;
  }

  // Runs dump; every line must parse, with the keys in the documented order.
  int Dump(std::optional<Priority> level, std::vector<DumpedRecord>* records,
           std::string* raw = nullptr) {
    std::ostringstream o;
    std::ostringstream e;
    const int rc = DumpSpillDir(dir_.path(), level, o, e);
    if (raw != nullptr) {
      *raw = o.str();
    }
    std::istringstream lines(o.str());
    std::string line;
    while (std::getline(lines, line)) {
      std::string error;
      const std::optional<testing::JsonNode> object = testing::JsonCheck::Parse(line, &error);
      EXPECT_TRUE(object.has_value()) << "not valid JSON (" << error << "): " << line;
      if (!object.has_value()) {
        continue;
      }
      EXPECT_EQ(object->keys,
                (std::vector<std::string>{"level", "seq", "segment", "offset", "device_time_ms",
                                          "ingest_time_ns", "meter_id", "type", "payload"}));
      auto field = [&](const char* key) -> std::string {
        const testing::JsonNode* n = object->Find(key);
        return n == nullptr ? std::string("<missing>") : n->text;
      };
      DumpedRecord r;
      r.level = field("level");
      r.seq = std::stoull(field("seq"));
      r.segment = field("segment");
      r.offset = std::stoull(field("offset"));
      r.payload = field("payload");
      EXPECT_EQ(field("device_time_ms"), "1780000000000");
      EXPECT_EQ(field("ingest_time_ns"), std::to_string(clock_.UnixNs()));
      EXPECT_EQ(field("meter_id"), "1ND785727916NMD06");
      EXPECT_EQ(field("type"), "interval_reading");
      const testing::JsonNode* payload = object->Find("payload");
      EXPECT_TRUE(payload != nullptr && payload->kind == testing::JsonNode::Kind::kString);
      records->push_back(std::move(r));
    }
    return rc;
  }

  std::string PathOf(const std::string& rel) const { return dir_.Sub(rel); }

  void WriteAt(const std::string& rel, uint64_t file_offset, const std::string& bytes) {
    std::fstream f(PathOf(rel), std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f.is_open()) << rel;
    f.seekp(static_cast<std::streamoff>(file_offset));
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    ASSERT_TRUE(f.good());
  }

  void FlipByte(const std::string& rel, uint64_t file_offset) {
    std::fstream f(PathOf(rel), std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f.is_open()) << rel;
    f.seekg(static_cast<std::streamoff>(file_offset));
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x40);
    f.seekp(static_cast<std::streamoff>(file_offset));
    f.write(&c, 1);
    ASSERT_TRUE(f.good());
  }

  // Every file under the directory and its bytes.
  std::map<std::string, std::string> Snapshot() const {
    std::map<std::string, std::string> files;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_.path())) {
      if (entry.is_regular_file()) {
        std::ifstream f(entry.path(), std::ios::binary);
        files[entry.path().string()] =
            std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
      }
    }
    return files;
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  testing::EventFactory factory_;
  std::unique_ptr<filter::BackpressureFilter> filter_;
  std::vector<Spilled> spilled_;
};

TEST_F(SpillToolTest, VerifyReportsEveryRecordOfAnIntactDirectory) {
  WriteSpillDir();
  Close();
  std::string out;
  ASSERT_EQ(Verify(&out), kExitOk) << out;
  const auto low = SpilledAt(Priority::kLow);
  const auto normal = SpilledAt(Priority::kNormal);
  EXPECT_NE(out.find("low: "), std::string::npos) << out;
  EXPECT_NE(out.find(" live, 0 free; " + std::to_string(low.size()) + " records"),
            std::string::npos)
      << out;
  EXPECT_NE(
      out.find("seq " + std::to_string(low.front().seq) + ".." + std::to_string(low.back().seq)),
      std::string::npos)
      << out;
  EXPECT_NE(out.find("normal: 1 segment files, 1 live, 0 free; " + std::to_string(normal.size()) +
                     " records"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("critical: 0 segment files, 0 live, 0 free; 0 records"), std::string::npos)
      << out;
  EXPECT_NE(out.find("OK: " + std::to_string(spilled_.size()) + " records"), std::string::npos)
      << out;
  EXPECT_NE(out.find("valid data ends at offset "), std::string::npos) << out;
  EXPECT_EQ(out.find("CORRUPT"), std::string::npos) << out;
}

TEST_F(SpillToolTest, DumpPrintsEveryRecordInRecoveryOrderAsNdjson) {
  WriteSpillDir();
  Close();
  std::vector<DumpedRecord> records;
  std::string raw;
  ASSERT_EQ(Dump(std::nullopt, &records, &raw), kExitOk);
  // Highest level first: the normal events, then the low ones, each in push
  // (= sequence) order.
  std::vector<Spilled> expected = SpilledAt(Priority::kNormal);
  for (const Spilled& s : SpilledAt(Priority::kLow)) {
    expected.push_back(s);
  }
  ASSERT_EQ(records.size(), expected.size()) << raw.substr(0, 2000);
  for (size_t i = 0; i < records.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(records[i].level, PriorityName(expected[i].level));
    EXPECT_EQ(records[i].seq, expected[i].seq);
    EXPECT_EQ(records[i].payload, expected[i].payload);
    EXPECT_EQ(records[i].segment.rfind(records[i].level + "/seg-", 0), 0u) << records[i].segment;
    EXPECT_LT(records[i].offset, kSegmentBytes - spill::kSegmentHeaderBytes);
    if (i > 0 && records[i].segment == records[i - 1].segment) {
      EXPECT_GT(records[i].offset, records[i - 1].offset);
    }
  }
  // The payload is JSON, so its quotes come escaped.
  EXPECT_NE(raw.find(R"("payload":"{\"id\":)"), std::string::npos);
  // More than one segment of low records: the order crosses files.
  EXPECT_NE(records.back().segment, records[SpilledAt(Priority::kNormal).size()].segment);
}

TEST_F(SpillToolTest, DumpOfOneLevel) {
  WriteSpillDir();
  Close();
  std::vector<DumpedRecord> records;
  ASSERT_EQ(Dump(Priority::kNormal, &records), kExitOk);
  ASSERT_EQ(records.size(), SpilledAt(Priority::kNormal).size());
  for (const DumpedRecord& r : records) {
    EXPECT_EQ(r.level, "normal");
  }
  records.clear();
  EXPECT_EQ(Dump(Priority::kHigh, &records), kExitOk);
  EXPECT_TRUE(records.empty());
}

TEST_F(SpillToolTest, PayloadBytesThatAreNotUtf8AreEscapedByteByByte) {
  WriteSpillDir(/*low=*/20, /*normal=*/0);
  const std::string payload =
      std::string("{\"note\":\"tab\there\",\"raw\":\"\xff\",\"e\":\"\xc3\xa9\"}");
  Event event = factory_.Make(Priority::kLow, 9999, 10, clock_.UnixNs());
  event.payload = payload;
  Push(event);
  ASSERT_EQ(spilled_.back().payload, payload) << "the odd event spilled behind the others";
  Close();
  std::vector<DumpedRecord> records;
  std::string raw;
  ASSERT_EQ(Dump(std::nullopt, &records, &raw), kExitOk);
  EXPECT_NE(raw.find(R"("payload":"{\"note\":\"tab\u0009here\",\"raw\":\"\u00ff\",\"e\":\")"
                     "\xc3\xa9"),
            std::string::npos)
      << raw.substr(raw.size() - 300);
  // A JSON reader gets U+00FF for the invalid byte (json_escape.h).
  EXPECT_EQ(records.back().payload,
            "{\"note\":\"tab\there\",\"raw\":\"\xc3\xbf\",\"e\":\"\xc3\xa9\"}");
}

TEST_F(SpillToolTest, AFlippedByteIsCorruptionNamedByFileAndOffset) {
  WriteSpillDir();
  Close();
  std::vector<DumpedRecord> before;
  ASSERT_EQ(Dump(Priority::kLow, &before), kExitOk);
  // A record in the first block of a segment whose later blocks hold records
  // too: after it, a valid record follows, so this is damage, not a tail.
  const DumpedRecord* victim = nullptr;
  for (const DumpedRecord& r : before) {
    if (r.offset < kBlockBytes && r.offset > 0 && before.back().segment != r.segment) {
      victim = &r;
      break;
    }
  }
  ASSERT_NE(victim, nullptr);
  FlipByte(victim->segment, spill::kSegmentHeaderBytes + victim->offset + 40);

  std::string out;
  EXPECT_EQ(Verify(&out), kExitDamaged) << out;
  EXPECT_NE(out.find("CORRUPT " + victim->segment + ": damaged record at offset " +
                     std::to_string(victim->offset) + " "),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("CORRUPTION FOUND"), std::string::npos) << out;
  EXPECT_NE(out.find(" 1 damaged stretches"), std::string::npos) << out;

  // Dump skips the rest of that block, as recovery would, and says so.
  std::vector<DumpedRecord> after;
  EXPECT_EQ(Dump(Priority::kLow, &after), kExitDamaged);
  EXPECT_LT(after.size(), before.size());
  for (const DumpedRecord& r : after) {
    EXPECT_FALSE(r.segment == victim->segment && r.offset >= victim->offset &&
                 r.offset < kBlockBytes)
        << r.offset;
  }
  EXPECT_EQ(after.back().seq, before.back().seq);
}

TEST_F(SpillToolTest, AGarbageHeaderIsABadHeader) {
  WriteSpillDir();
  Close();
  const std::string rel = "low/" + spill::SegmentFileName(1);
  ASSERT_TRUE(std::filesystem::exists(PathOf(rel)));
  WriteAt(rel, 0, std::string(spill::kHeaderUsedBytes, 'Z'));
  std::string out;
  EXPECT_EQ(Verify(&out), kExitDamaged) << out;
  EXPECT_NE(out.find("BAD HEADER " + rel + ": not a gridgate spill segment (bad magic)"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("1 bad headers"), std::string::npos) << out;
  std::vector<DumpedRecord> records;
  EXPECT_EQ(Dump(std::nullopt, &records), kExitDamaged);
  for (const DumpedRecord& r : records) {
    EXPECT_NE(r.segment, rel);
  }
}

TEST_F(SpillToolTest, AHeaderThatNamesAnotherSlotIsABadHeader) {
  WriteSpillDir();
  Close();
  const std::string from = PathOf("low/" + spill::SegmentFileName(0));
  std::filesystem::rename(from, PathOf("low/" + spill::SegmentFileName(42)));
  std::string out;
  EXPECT_EQ(Verify(&out), kExitDamaged) << out;
  EXPECT_NE(out.find("BAD HEADER low/seg-000042.spill: header names slot 0"), std::string::npos)
      << out;
}

TEST_F(SpillToolTest, TornTailIsNotCorruption) {
  WriteSpillDir();
  Close();
  std::vector<DumpedRecord> before;
  ASSERT_EQ(Dump(Priority::kLow, &before), kExitOk);
  // Zero the header of the newest record: nothing valid follows it.
  const DumpedRecord last = before.back();
  WriteAt(last.segment, spill::kSegmentHeaderBytes + last.offset, std::string(24, '\0'));
  std::string out;
  EXPECT_EQ(Verify(&out), kExitOk) << out;
  EXPECT_NE(out.find(last.segment + ": live"), std::string::npos) << out;
  EXPECT_NE(out.find("valid data ends at offset " + std::to_string(last.offset) + " of "),
            std::string::npos)
      << out;
  EXPECT_NE(out.find(std::to_string(before.size() - 1) + " records"), std::string::npos) << out;
  std::vector<DumpedRecord> after;
  EXPECT_EQ(Dump(Priority::kLow, &after), kExitOk);
  EXPECT_EQ(after.size(), before.size() - 1);
}

TEST_F(SpillToolTest, NeitherCommandTakesTheLockNorChangesAnything) {
  WriteSpillDir();
  // The filter still holds the directory's LOCK.
  const auto files = Snapshot();
  std::string out;
  EXPECT_EQ(Verify(&out), kExitOk) << out;
  std::vector<DumpedRecord> records;
  EXPECT_EQ(Dump(std::nullopt, &records), kExitOk);
  EXPECT_EQ(records.size(), spilled_.size());
  EXPECT_EQ(Snapshot(), files);
  // And the filter goes on as before.
  Push(factory_.Make(Priority::kLow, 1'000'000, 200, clock_.UnixNs()));
  EXPECT_EQ(spilled_.size(), records.size() + 1);
}

TEST_F(SpillToolTest, AMissingOrNonSpillDirectoryIsAUsageError) {
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(VerifySpillDir(dir_.Sub("nonexistent"), out, err), kExitUsage);
  EXPECT_NE(err.str().find("does not exist"), std::string::npos) << err.str();
  EXPECT_EQ(DumpSpillDir(dir_.Sub("nonexistent"), std::nullopt, out, err), kExitUsage);
  // An empty directory has no level folders.
  err.str("");
  EXPECT_EQ(VerifySpillDir(dir_.path(), out, err), kExitUsage);
  EXPECT_NE(err.str().find("is not a spill directory"), std::string::npos) << err.str();
  // A file.
  std::ofstream(dir_.Sub("file")) << "x";
  EXPECT_EQ(VerifySpillDir(dir_.Sub("file"), out, err), kExitUsage);
  EXPECT_EQ(out.str(), "") << "nothing on stdout for a usage error";
}

}  // namespace
}  // namespace gridgate::tools
