// Writes the seed corpus of segment_reader_fuzz into the folder named by
// argv[1] (created if missing): a few small, valid segment data regions built
// the way Segment::Append writes them, some damaged copies, and a segment
// header. Generated at test time so that no binary seeds live in the repo.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "event/record_codec.h"
#include "fuzz/seed_corpus.h"
#include "fuzz/segment_reader_fuzz_input.h"
#include "spill/segment_format.h"
#include "spill/segment_reader.h"

namespace gridgate::fuzz {
namespace {

// A data region of `blocks` blocks and a write position, appended to like
// Segment::Append.
class Region {
 public:
  Region(uint32_t block_bytes, size_t blocks, Priority level, uint64_t epoch)
      : block_bytes_(block_bytes),
        level_(level),
        epoch_(epoch),
        data_(block_bytes * blocks, '\0') {}

  // false when the region is full.
  bool Write(size_t payload_bytes, uint64_t seq) {
    const std::string payload =
        "{\"seq\":" + std::to_string(seq) + ",\"v\":\"" + std::string(payload_bytes, 'x') + "\"}";
    Event e;
    e.priority = level_;
    e.device_time_ms = 1'780'000'000'000 + static_cast<int64_t>(seq);
    e.ingest_time_ns = 1'780'000'000'000'000'000 + static_cast<int64_t>(seq);
    e.meter_id = "1ND785727916NMD06";
    e.type = "interval_reading";
    e.payload = payload;
    return WriteEvent(e, seq);
  }

  bool WriteEvent(const Event& e, uint64_t seq) {
    const uint64_t size = record::RecordSize(e);
    const uint64_t block_left = block_bytes_ - pos_ % block_bytes_;
    if (size > block_left) {
      if (pos_ + block_left >= data_.size()) {
        return false;
      }
      spill::WritePadding(data_.data() + pos_, block_left, level_, epoch_);
      pos_ += block_left;
    }
    if (pos_ + size > data_.size()) {
      return false;
    }
    record::EncodeRecord(e, Seq{seq}, data_.data() + pos_);
    spill::SealRecord(data_.data() + pos_, size, epoch_);
    pos_ += size;
    return true;
  }

  void Rewind(uint64_t epoch) {
    pos_ = 0;
    epoch_ = epoch;
  }

  std::string& data() { return data_; }
  uint64_t pos() const { return pos_; }

 private:
  const uint32_t block_bytes_;
  const Priority level_;
  uint64_t epoch_;
  std::string data_;
  uint64_t pos_ = 0;
};

bool WriteSeed(const std::filesystem::path& dir, const std::string& name, uint32_t block_bytes,
               Priority level, uint64_t epoch, uint64_t start_offset, const std::string& data) {
  uint8_t selector[kSelectorBytes];
  EncodeReaderSelector(block_bytes, level, epoch, start_offset, selector);
  return WriteSeedFile(
      dir, name, std::string_view(reinterpret_cast<const char*>(selector), kSelectorBytes), data);
}

int Main(int argc, char** argv) {
  int exit_code = 0;
  const std::optional<std::filesystem::path> corpus = SeedCorpusDir(argc, argv, &exit_code);
  if (!corpus) {
    return exit_code;
  }
  const std::filesystem::path& dir = *corpus;
  bool ok = true;

  // Three 4 KiB blocks of mixed sizes, each block ending in padding.
  Region mixed(4096, 3, Priority::kHigh, 5);
  for (uint64_t seq = 1; mixed.Write(40 + (seq * 97) % 600, seq); ++seq) {
  }
  ok &= WriteSeed(dir, "mixed-4k", 4096, Priority::kHigh, 5, 0, mixed.data());
  ok &= WriteSeed(dir, "mixed-4k-start", 4096, Priority::kHigh, 5, 512, mixed.data());

  // Damage: a flipped byte in block 0, a zeroed block 1, valid block 2.
  std::string damaged = mixed.data();
  damaged[700] = static_cast<char>(damaged[700] ^ 0x20);
  damaged.replace(4096, 4096, 4096, '\0');
  ok &= WriteSeed(dir, "damaged-4k", 4096, Priority::kHigh, 5, 0, damaged);

  // Torn: the mixed region cut inside a record of block 2.
  ok &= WriteSeed(dir, "torn-4k", 4096, Priority::kHigh, 5, 0, mixed.data().substr(0, 8192 + 777));

  // 8 KiB blocks, two of them.
  Region big(8192, 2, Priority::kCritical, 1);
  for (uint64_t seq = 1; big.Write(900, seq); ++seq) {
  }
  ok &= WriteSeed(dir, "big-8k", 8192, Priority::kCritical, 1, 0, big.data());

  // A reused slot: epoch 3 filled both blocks, epoch 4 half a block.
  Region laps(4096, 2, Priority::kLow, 3);
  for (uint64_t seq = 1; laps.Write(100, seq); ++seq) {
  }
  laps.Rewind(4);
  for (uint64_t seq = 100; laps.pos() < 2048 && laps.Write(100, seq); ++seq) {
  }
  ok &= WriteSeed(dir, "laps-4k", 4096, Priority::kLow, 4, 0, laps.data());

  // Minimal 48-byte records, and a gap too small for a padding marker.
  Region tiny(4096, 2, Priority::kNormal, 9);
  Event empty;
  empty.priority = Priority::kNormal;
  for (uint64_t seq = 1; seq <= 85; ++seq) {  // 85 * 48 = 4080: a 16-byte gap
    ok &= tiny.WriteEvent(empty, seq);
  }
  ok &= tiny.WriteEvent(empty, 86);
  ok &= WriteSeed(dir, "tiny-4k", 4096, Priority::kNormal, 9, 0, tiny.data().substr(0, 4096 + 96));

  // A segment header, and nothing at all.
  spill::SegmentHeader h;
  h.block_bytes = 4096;
  h.level = Priority::kHigh;
  h.state = spill::SegmentState::kLive;
  h.slot = 3;
  h.epoch = 5;
  h.segment_bytes = spill::kSegmentHeaderBytes + 3 * 4096;
  h.start_offset = 281;
  h.created_unix_ns = 1'780'000'000'000'000'000;
  ok &= WriteSeedFile(dir, "header", "", spill::EncodeSegmentHeader(h));
  ok &= WriteSeed(dir, "empty", 4096, Priority::kCritical, 0, 0, "");

  if (!ok) {
    std::fprintf(stderr, "cannot write the seeds into %s\n", argv[1]);
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace gridgate::fuzz

int main(int argc, char** argv) { return gridgate::fuzz::Main(argc, argv); }
