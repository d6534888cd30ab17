// libFuzzer target: arbitrary bytes as a spill segment's data region
// (segment_reader_fuzz_input.h says how the input is split), read to the end
// by SegmentReader; and the same bytes as a segment header. Any invariant
// broken aborts with a message, which libFuzzer reports as a crash.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "event/record_codec.h"
#include "fuzz/segment_reader_fuzz_input.h"
#include "spill/segment_format.h"
#include "spill/segment_reader.h"

namespace gridgate::fuzz {
namespace {

void Check(bool ok, const char* what, uint64_t value = 0) {
  if (!ok) {
    std::fprintf(stderr, "segment_reader_fuzz: invariant broken: %s (%llu)\n", what,
                 static_cast<unsigned long long>(value));
    std::abort();
  }
}

void FuzzReader(const ReaderInput& in) {
  spill::SegmentReader reader(in.data, in.block_bytes, in.level, in.epoch, in.start_offset);
  std::string_view record;
  uint64_t offset = 0;
  uint64_t count = 0;
  uint64_t next_free = in.start_offset;  // records never overlap and only move forward
  uint64_t corrupt_before = 0;
  while (reader.Next(&record, &offset)) {
    ++count;
    Check(offset >= next_free, "record offsets increase", offset);
    if (reader.corrupt_records() == corrupt_before) {
      // Nothing counted: the reader went on right after the last record, or
      // skipped the padding at the end of its block, and not one byte more.
      const uint64_t next_block =
          (next_free + in.block_bytes - 1) / in.block_bytes * in.block_bytes;
      Check(offset == next_free || offset == next_block, "only padding is skipped uncounted",
            offset);
    }
    corrupt_before = reader.corrupt_records();
    Check(offset < in.data.size() && record.size() <= in.data.size() - offset,
          "a record lies within the data", offset);
    Check(record.data() == in.data.data() + offset, "a record is a view at its offset", offset);
    Check(offset / in.block_bytes == (offset + record.size() - 1) / in.block_bytes,
          "a record does not straddle a block", offset);
    Event event;
    size_t size = 0;
    Check(record::DecodeRecord(record, &event, &size).ok(), "a record decodes", offset);
    Check(size == record.size(), "the decoded size is the record's", offset);
    Check(event.priority == in.level, "a record has the reader's level", offset);
    Check(spill::ValidRecordAt(in.data, offset, in.block_bytes, in.level, in.epoch),
          "ValidRecordAt agrees with Next", offset);
    next_free = offset + record.size();
    Check(reader.position() == next_free, "position() is after the record", offset);
  }
  Check(reader.records() == count, "records() counts what Next returned", count);
  Check(reader.position() >= next_free, "position() does not move back", reader.position());
  Check(reader.position() <= in.data.size(), "position() <= size", reader.position());
  Check(reader.corrupt_bytes() <= in.data.size(), "corrupt_bytes() <= size",
        reader.corrupt_bytes());
  Check(reader.damage_offsets().size() <= spill::SegmentReader::kMaxDamageOffsets,
        "damage_offsets() is bounded", reader.damage_offsets().size());
  Check(reader.damage_offsets().size() ==
            std::min<uint64_t>(reader.corrupt_records(), spill::SegmentReader::kMaxDamageOffsets),
        "one damage offset per corrupt stretch", reader.corrupt_records());
  for (size_t i = 1; i < reader.damage_offsets().size(); ++i) {
    Check(reader.damage_offsets()[i - 1] < reader.damage_offsets()[i], "damage offsets increase",
          reader.damage_offsets()[i]);
  }
  // The end stays the end.
  const uint64_t end = reader.position();
  Check(!reader.Next(&record, &offset), "Next after the end is false", end);
  Check(reader.position() == end, "position() stays at the end", end);
}

void FuzzHeader(std::string_view bytes) {
  const Result<spill::SegmentHeader> header = spill::DecodeSegmentHeader(bytes);
  if (!header.ok()) {
    Check(header.status().code() == Status::Code::kCorruption, "a bad header is Corruption");
    Check(!header.status().message().empty(), "a bad header says why");
    return;
  }
  const spill::SegmentHeader& h = header.value();
  Check(h.block_bytes > 0, "a valid header has blocks", h.block_bytes);
  Check(h.segment_bytes > spill::kSegmentHeaderBytes, "a valid header has data", h.segment_bytes);
  Check(h.start_offset <= h.segment_bytes - spill::kSegmentHeaderBytes,
        "start_offset lies within the data", h.start_offset);
  const Result<spill::SegmentHeader> again =
      spill::DecodeSegmentHeader(spill::EncodeSegmentHeader(h));
  Check(again.ok(), "a decoded header re-encodes to a valid one");
  Check(again->block_bytes == h.block_bytes && again->level == h.level && again->state == h.state &&
            again->slot == h.slot && again->epoch == h.epoch &&
            again->segment_bytes == h.segment_bytes && again->start_offset == h.start_offset &&
            again->created_unix_ns == h.created_unix_ns,
        "a header round-trips");
}

}  // namespace
}  // namespace gridgate::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gridgate::fuzz;  // NOLINT(google-build-using-namespace)
  FuzzHeader(std::string_view(reinterpret_cast<const char*>(data), size));
  if (size >= kSelectorBytes) {
    FuzzReader(ParseReaderInput(data, size));
  }
  return 0;
}
