#include "spill/segment_format.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "common/checksum.h"
#include "common/coding.h"

namespace gridgate::spill {
namespace {

SegmentHeader SampleHeader() {
  SegmentHeader h;
  h.block_bytes = 8192;
  h.level = Priority::kNormal;
  h.state = SegmentState::kLive;
  h.slot = 42;
  h.epoch = 0x0102'0304'0506'0708;
  h.segment_bytes = kSegmentHeaderBytes + 16 * 8192;
  h.start_offset = 3 * 8192 + 281;
  h.created_unix_ns = 1'783'519'421'020'000'123;
  return h;
}

// `bytes` changed by `edit` and its checksum redone, so
// that only the field's meaning can make the header invalid.
template <typename Edit>
std::string Resealed(std::string bytes, Edit edit) {
  edit(bytes.data());
  EncodeFixed32(bytes.data() + 64, Checksum32(std::string_view(bytes.data(), 64)));
  return bytes;
}

void ExpectCorruption(const Result<SegmentHeader>& r, const std::string& what) {
  ASSERT_FALSE(r.ok()) << what;
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption) << what;
  EXPECT_FALSE(r.status().message().empty()) << what;
}

TEST(SegmentFormatTest, HeaderRoundTripKeepsEveryField) {
  const SegmentHeader in = SampleHeader();
  const std::string bytes = EncodeSegmentHeader(in);
  ASSERT_EQ(bytes.size(), kHeaderUsedBytes);
  EXPECT_EQ(bytes.substr(0, 8), std::string(kSegmentMagic, 8));

  const Result<SegmentHeader> out = DecodeSegmentHeader(bytes);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->block_bytes, in.block_bytes);
  EXPECT_EQ(out->level, in.level);
  EXPECT_EQ(out->state, in.state);
  EXPECT_EQ(out->slot, in.slot);
  EXPECT_EQ(out->epoch, in.epoch);
  EXPECT_EQ(out->segment_bytes, in.segment_bytes);
  EXPECT_EQ(out->start_offset, in.start_offset);
  EXPECT_EQ(out->created_unix_ns, in.created_unix_ns);
}

TEST(SegmentFormatTest, HeaderDecodesFromTheFullHeaderPage) {
  std::string page = EncodeSegmentHeader(SampleHeader());
  page.resize(kSegmentHeaderBytes, '\0');
  const Result<SegmentHeader> out = DecodeSegmentHeader(page);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->slot, 42u);
}

TEST(SegmentFormatTest, FlippedHeaderByteIsCorruptionAtEveryOffset) {
  const std::string clean = EncodeSegmentHeader(SampleHeader());
  for (size_t at = 0; at < clean.size(); ++at) {
    for (uint8_t mask : {0x01, 0x80, 0xff}) {
      std::string bytes = clean;
      bytes[at] = static_cast<char>(bytes[at] ^ mask);
      ExpectCorruption(DecodeSegmentHeader(bytes),
                       "flip " + std::to_string(mask) + " at " + std::to_string(at));
    }
  }
}

TEST(SegmentFormatTest, TruncatedHeaderIsCorruptionAtEveryLength) {
  const std::string clean = EncodeSegmentHeader(SampleHeader());
  for (size_t cut = 0; cut < clean.size(); ++cut) {
    ExpectCorruption(DecodeSegmentHeader(std::string_view(clean).substr(0, cut)),
                     "cut at " + std::to_string(cut));
  }
}

TEST(SegmentFormatTest, ChecksummedButMeaninglessHeaderIsCorruption) {
  const std::string clean = EncodeSegmentHeader(SampleHeader());
  ExpectCorruption(DecodeSegmentHeader(Resealed(clean, [](char* p) { EncodeFixed32(p + 8, 2); })),
                   "version 2");
  ExpectCorruption(
      DecodeSegmentHeader(Resealed(clean, [](char* p) { EncodeFixed32(p + 12, 8192); })),
      "header_bytes");
  ExpectCorruption(DecodeSegmentHeader(Resealed(clean, [](char* p) { EncodeFixed32(p + 16, 0); })),
                   "block_bytes 0");
  ExpectCorruption(
      DecodeSegmentHeader(Resealed(clean, [](char* p) { EncodeFixed32(p + 16, 5000); })),
      "segment not whole blocks");
  ExpectCorruption(DecodeSegmentHeader(Resealed(clean, [](char* p) { p[20] = 4; })), "level 4");
  ExpectCorruption(DecodeSegmentHeader(Resealed(clean, [](char* p) { p[21] = 2; })), "state 2");
  ExpectCorruption(DecodeSegmentHeader(Resealed(
                       clean, [](char* p) { EncodeFixed64(p + 40, kSegmentHeaderBytes); })),
                   "no data blocks");
  ExpectCorruption(
      DecodeSegmentHeader(Resealed(clean, [](char* p) { EncodeFixed64(p + 48, 16 * 8192 + 1); })),
      "start_offset past the end");
  // The control: resealing alone keeps a header valid.
  EXPECT_TRUE(DecodeSegmentHeader(Resealed(clean, [](char*) {})).ok());
  EXPECT_TRUE(
      DecodeSegmentHeader(Resealed(clean, [](char* p) { EncodeFixed64(p + 48, 16 * 8192); })).ok())
      << "start_offset at the very end is a segment with nothing owed";
}

TEST(SegmentFormatTest, FileNameRoundTrips) {
  EXPECT_EQ(SegmentFileName(42), "seg-000042.spill");
  for (uint32_t slot : {0u, 1u, 42u, 999'999u, 1'000'000u, 123'456'789u}) {
    EXPECT_EQ(ParseSegmentFileName(SegmentFileName(slot)), int64_t{slot}) << slot;
  }
}

TEST(SegmentFormatTest, ParseRejectsNamesTheWriterNeverMakes) {
  for (const char* name :
       {"seg-12.spill", "seg-.spill", "seg-0000000000001.spill", "xseg-000001.spill",
        "seg-000001.spil", "seg-000001.spill.bad", "seg-00000a.spill", "seg--00001.spill",
        "seg-000001", "seg-0000042.spill", "", "ring.state"}) {
    EXPECT_EQ(ParseSegmentFileName(name), -1) << name;
  }
}

}  // namespace
}  // namespace gridgate::spill
