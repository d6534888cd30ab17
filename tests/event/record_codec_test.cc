#include "event/record_codec.h"

#include <gtest/gtest.h>

#include <string>

#include "common/coding.h"

namespace gridgate::record {
namespace {

Event SampleEvent() {
  Event e;
  e.priority = Priority::kCritical;
  e.device_time_ms = 1'783'519'420'100;
  e.ingest_time_ns = 1'783'519'421'020'000'123;
  e.meter_id = "1ND785727916NMD06";
  e.type = "over_voltage";
  e.payload = R"({"type":"over_voltage","value":138.6})";
  return e;
}

std::string Encode(const Event& e, Seq seq) {
  std::string bytes(RecordSize(e), '\xee');
  EncodeRecord(e, seq, bytes.data());
  return bytes;
}

TEST(RecordCodecTest, RoundTripKeepsEveryField) {
  const Event in = SampleEvent();
  const std::string bytes = Encode(in, Seq{42});
  ASSERT_EQ(bytes.size(), kRecordOverhead + 17 + 12 + in.payload.size());

  Event out;
  size_t size = 0;
  ASSERT_TRUE(DecodeRecord(bytes, &out, &size).ok());
  EXPECT_EQ(size, bytes.size());
  EXPECT_EQ(out.seq, Seq{42});
  EXPECT_EQ(out.priority, Priority::kCritical);
  EXPECT_EQ(out.device_time_ms, in.device_time_ms);
  EXPECT_EQ(out.ingest_time_ns, in.ingest_time_ns);
  EXPECT_EQ(out.meter_id, in.meter_id);
  EXPECT_EQ(out.type, in.type);
  EXPECT_EQ(out.payload, in.payload);
  EXPECT_EQ(RecordLevel(bytes.data()), Priority::kCritical);
  EXPECT_EQ(RecordSeq(bytes.data()), Seq{42});
  EXPECT_EQ(RecordSizeAt(bytes.data()), bytes.size());
}

TEST(RecordCodecTest, HeaderLayoutMatchesTheDocumentedOffsets) {
  const std::string bytes = Encode(SampleEvent(), Seq{0x0102030405060708});
  EXPECT_EQ(DecodeFixed32(bytes.data() + offset::kCrc), 0u);
  EXPECT_EQ(DecodeFixed32(bytes.data() + offset::kLength), bytes.size() - kRecordHeaderSize);
  EXPECT_EQ(bytes[offset::kType], static_cast<char>(RecordType::kFull));
  EXPECT_EQ(bytes[offset::kLevel], 0);
  EXPECT_EQ(DecodeFixed32(bytes.data() + offset::kEpoch), 0u);
  EXPECT_EQ(DecodeFixed64(bytes.data() + offset::kSeq), 0x0102030405060708u);
  EXPECT_EQ(bytes.substr(kRecordOverhead, 17), "1ND785727916NMD06");
}

TEST(RecordCodecTest, EmptyStringsAreValid) {
  Event e;
  e.priority = Priority::kLow;
  const std::string bytes = Encode(e, Seq{1});
  EXPECT_EQ(bytes.size(), kRecordOverhead);
  Event out;
  size_t size = 0;
  ASSERT_TRUE(DecodeRecord(bytes, &out, &size).ok());
  EXPECT_TRUE(out.payload.empty());
  EXPECT_EQ(out.priority, Priority::kLow);
}

TEST(RecordCodecTest, TruncationAtEveryOffsetIsCorruptionNotACrash) {
  const std::string bytes = Encode(SampleEvent(), Seq{7});
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    Event out;
    size_t size = 0;
    const Status s = DecodeRecord(std::string_view(bytes).substr(0, cut), &out, &size);
    EXPECT_EQ(s.code(), Status::Code::kCorruption) << "cut at " << cut;
  }
}

TEST(RecordCodecTest, InconsistentLengthsAreCorruption) {
  std::string bytes = Encode(SampleEvent(), Seq{7});
  bytes[kRecordHeaderSize + offset::kMeterIdLen] = 18;  // one more than written
  Event out;
  size_t size = 0;
  EXPECT_EQ(DecodeRecord(bytes, &out, &size).code(), Status::Code::kCorruption);
}

TEST(RecordCodecTest, BadTypeOrLevelIsCorruption) {
  for (size_t at : {offset::kType, offset::kLevel}) {
    std::string bytes = Encode(SampleEvent(), Seq{7});
    bytes[at] = 9;
    Event out;
    size_t size = 0;
    EXPECT_EQ(DecodeRecord(bytes, &out, &size).code(), Status::Code::kCorruption) << at;
  }
}

TEST(RecordCodecTest, CheckEncodableNamesTheField) {
  Event e = SampleEvent();
  const std::string long_id(256, 'm');
  e.meter_id = long_id;
  Status s = CheckEncodable(e);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("meter_id"), std::string::npos);

  e = SampleEvent();
  const std::string long_type(256, 't');
  e.type = long_type;
  s = CheckEncodable(e);
  EXPECT_NE(s.message().find("type"), std::string::npos);

  e = SampleEvent();
  e.priority = static_cast<Priority>(4);
  s = CheckEncodable(e);
  EXPECT_NE(s.message().find("priority"), std::string::npos);

  EXPECT_TRUE(CheckEncodable(SampleEvent()).ok());
}

TEST(RecordCodecTest, IsEncodableAgreesWithCheckEncodable) {
  const std::string long_id(256, 'm');
  const std::string max_id(255, 'm');
  Event e = SampleEvent();
  for (std::string_view id : {std::string_view(long_id), std::string_view(max_id)}) {
    e.meter_id = id;
    EXPECT_EQ(IsEncodable(e), CheckEncodable(e).ok()) << id.size();
  }
  EXPECT_TRUE(IsEncodable(e)) << "255 bytes is the limit, inclusive";
  e.priority = static_cast<Priority>(4);
  EXPECT_FALSE(IsEncodable(e));
}

TEST(PriorityTest, NamesRoundTrip) {
  for (Priority p : kAllPriorities) {
    EXPECT_EQ(ParsePriority(PriorityName(p)), p);
  }
  EXPECT_EQ(ParsePriority("urgent"), std::nullopt);
  EXPECT_EQ(ParsePriority("Critical"), std::nullopt);
}

}  // namespace
}  // namespace gridgate::record
