#include "sink/common/delivered_format.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "fakes/json_check.h"
#include "sink/sink_test_util.h"

namespace gridgate::sink {
namespace {

using testing::JsonCheck;
using testing::JsonNode;

constexpr int64_t kIngestTimeNs = BatchSource::kIngestTimeNs;

Event MakeEvent(std::string_view payload, uint64_t seq = 123,
                Priority priority = Priority::kCritical) {
  Event e;
  e.seq = Seq{seq};
  e.priority = priority;
  e.ingest_time_ns = kIngestTimeNs;
  e.meter_id = "1ND785727916NMD06";
  e.type = "outage_alarm";
  e.payload = payload;
  return e;
}

std::string Line(const Event& e) {
  std::string out;
  AppendDeliveredLine(e, &out);
  return out;
}

// Parses the line without its '\n', failing the test unless it is one line
// of valid JSON.
JsonNode Parse(const std::string& line) {
  EXPECT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  const std::string body = line.substr(0, line.size() - 1);
  EXPECT_EQ(body.find('\n'), std::string::npos) << "more than one line: " << line;
  std::string error;
  auto json = JsonCheck::Parse(body, &error);
  EXPECT_TRUE(json.has_value()) << error << " in " << line;
  return json.value_or(JsonNode{});
}

std::vector<std::string> Keys(const JsonNode& node) {
  EXPECT_EQ(node.kind, JsonNode::Kind::kObject);
  return node.keys;
}

std::string Rfc3339(int64_t unix_ns) {
  std::string out;
  AppendRfc3339Millis(unix_ns, &out);
  return out;
}

TEST(DeliveredFormatTest, GatewayFieldsComeBeforeTheSendersFields) {
  const std::string payload =
      R"({"meter_id":"1ND785727916NMD06","type":"outage_alarm","value":3.5,"tags":["a"]})";
  EXPECT_EQ(Line(MakeEvent(payload)),
            R"({"gateway_seq":123,"gateway_ingest_time":"2026-07-08T14:03:41.020Z",)"
            R"("gateway_priority":"critical","meter_id":"1ND785727916NMD06",)"
            R"("type":"outage_alarm","value":3.5,"tags":["a"]})"
            "\n");
  const JsonNode json = Parse(Line(MakeEvent(payload)));
  EXPECT_EQ(Keys(json),
            (std::vector<std::string>{"gateway_seq", "gateway_ingest_time", "gateway_priority",
                                      "meter_id", "type", "value", "tags"}));
}

TEST(DeliveredFormatTest, EveryPriorityByName) {
  const std::vector<std::pair<Priority, std::string>> cases = {{Priority::kCritical, "critical"},
                                                               {Priority::kHigh, "high"},
                                                               {Priority::kNormal, "normal"},
                                                               {Priority::kLow, "low"}};
  for (const auto& [priority, name] : cases) {
    const JsonNode json = Parse(Line(MakeEvent(R"({"a":1})", 1, priority)));
    ASSERT_NE(json.Find("gateway_priority"), nullptr);
    EXPECT_EQ(json.Find("gateway_priority")->text, name);
  }
}

TEST(DeliveredFormatTest, LargestSeqIsAnExactInteger) {
  const JsonNode json = Parse(Line(MakeEvent(R"({"a":1})", UINT64_MAX)));
  ASSERT_NE(json.Find("gateway_seq"), nullptr);
  EXPECT_EQ(json.Find("gateway_seq")->kind, JsonNode::Kind::kNumber);
  EXPECT_EQ(json.Find("gateway_seq")->text, "18446744073709551615");
}

TEST(DeliveredFormatTest, EmptyObjectGetsOnlyTheGatewayFields) {
  for (const std::string payload : {"{}", "{ \t }", "  {}", "{\n}\n"}) {
    const std::string line = Line(MakeEvent(payload, 7, Priority::kLow));
    const JsonNode json = Parse(line);
    EXPECT_EQ(Keys(json),
              (std::vector<std::string>{"gateway_seq", "gateway_ingest_time", "gateway_priority"}))
        << line;
  }
  EXPECT_EQ(Line(MakeEvent("{}", 7, Priority::kLow)),
            R"({"gateway_seq":7,"gateway_ingest_time":"2026-07-08T14:03:41.020Z",)"
            R"("gateway_priority":"low"})"
            "\n");
}

TEST(DeliveredFormatTest, WhitespaceAroundAndInsideThePayloadStaysOneLine) {
  const std::string payload =
      " \t\r\n{\n  \"a\" : 1,\r\n  \"b\": [1,\n 2],\n \"c\": \"x y\"\n}\r\n";
  const std::string line = Line(MakeEvent(payload));
  EXPECT_EQ(line.rfind("{\"gateway_seq\":123,", 0), 0u) << line;
  const JsonNode json = Parse(line);
  EXPECT_EQ(Keys(json), (std::vector<std::string>{"gateway_seq", "gateway_ingest_time",
                                                  "gateway_priority", "a", "b", "c"}));
  ASSERT_NE(json.Find("c"), nullptr);
  EXPECT_EQ(json.Find("c")->text, "x y");
  ASSERT_NE(json.Find("b"), nullptr);
  EXPECT_EQ(json.Find("b")->items.size(), 2u);
}

TEST(DeliveredFormatTest, SendersBytesAreCopiedUntouched) {
  // Escapes, non-ASCII and odd spacing are the sender's and stay as sent.
  const std::string payload = "{\"s\":\"caf\xc3\xa9 \\\"q\\\" \\u00e9\\n\",  \"n\" : -0.5e3 }";
  const std::string line = Line(MakeEvent(payload));
  EXPECT_NE(line.find(payload.substr(1)), std::string::npos) << line;
  const JsonNode json = Parse(line);
  ASSERT_NE(json.Find("s"), nullptr);
  EXPECT_EQ(json.Find("s")->text, "caf\xc3\xa9 \"q\" \xc3\xa9\n");
}

TEST(DeliveredFormatTest, PayloadThatIsNotAnObjectIsWrappedAsAString) {
  const std::vector<std::string> payloads = {
      "[1,2]", "\"text\"", "42", "", "   ", "not json\n\"quoted\" \\ \x01 caf\xc3\xa9", "}{"};
  for (const std::string& payload : payloads) {
    const std::string line = Line(MakeEvent(payload, 9, Priority::kHigh));
    const JsonNode json = Parse(line);
    EXPECT_EQ(Keys(json), (std::vector<std::string>{"gateway_seq", "gateway_ingest_time",
                                                    "gateway_priority", "payload"}))
        << line;
    ASSERT_NE(json.Find("payload"), nullptr);
    EXPECT_EQ(json.Find("payload")->kind, JsonNode::Kind::kString);
    EXPECT_EQ(json.Find("payload")->text, payload);
  }
}

TEST(DeliveredFormatTest, InvalidUtf8InAWrappedPayloadStillGivesValidJson) {
  const std::string line = Line(MakeEvent(std::string("\xff\xfe[\x80", 4)));
  const JsonNode json = Parse(line);
  ASSERT_NE(json.Find("payload"), nullptr);
  EXPECT_NE(line.find("\\u00ff\\u00fe[\\u0080"), std::string::npos) << line;
}

TEST(DeliveredFormatTest, AppendsWithoutClearing) {
  std::string out = "previous line\n";
  AppendDeliveredLine(MakeEvent("{}", 1), &out);
  AppendDeliveredLine(MakeEvent(R"({"a":2})", 2), &out);
  const std::vector<std::string> lines = Lines(out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "previous line");
  EXPECT_EQ(SeqOfLine(lines[1]), 1u);
  EXPECT_EQ(SeqOfLine(lines[2]), 2u);
}

TEST(DeliveredFormatTest, IngestTimeIsRfc3339UtcWithMilliseconds) {
  EXPECT_EQ(Rfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(Rfc3339(kIngestTimeNs), "2026-07-08T14:03:41.020Z");
  EXPECT_EQ(Rfc3339(999'999), "1970-01-01T00:00:00.000Z");  // truncated, not rounded
  EXPECT_EQ(Rfc3339(1'000'000), "1970-01-01T00:00:00.001Z");
  EXPECT_EQ(Rfc3339(-1), "1969-12-31T23:59:59.999Z");  // towards the past
  EXPECT_EQ(Rfc3339(951'868'799'999'000'000), "2000-02-29T23:59:59.999Z");
  EXPECT_EQ(Rfc3339(4'102'444'800'000'000'000), "2100-01-01T00:00:00.000Z");
  EXPECT_EQ(Rfc3339(INT64_MAX), "2262-04-11T23:47:16.854Z");
  EXPECT_EQ(Rfc3339(INT64_MIN), "1677-09-21T00:12:43.145Z");
}

TEST(DeliveredFormatTest, DatesAgreeWithTheChronoCalendarForEveryDay) {
  using std::chrono::days;
  using std::chrono::sys_days;
  using std::chrono::year_month_day;
  // Every day from 1678 to 2261, at a time of day that varies with the day.
  for (int64_t day = -106'000; day <= 106'000; ++day) {
    const int64_t ms_of_day = (day * 7'919'993) % 86'400'000;
    const int64_t ms = day * 86'400'000 + (ms_of_day < 0 ? ms_of_day + 86'400'000 : ms_of_day);
    const year_month_day ymd{sys_days{days{day}}};
    const int64_t tod = ms - day * 86'400'000;
    char want[32];
    std::snprintf(want, sizeof(want), "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                  static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                  static_cast<unsigned>(ymd.day()), static_cast<int>(tod / 3'600'000),
                  static_cast<int>(tod / 60'000 % 60), static_cast<int>(tod / 1000 % 60),
                  static_cast<int>(tod % 1000));
    ASSERT_EQ(Rfc3339(ms * 1'000'000), want) << "day " << day;
  }
}

TEST(DeliveredFormatTest, PoppedEventsCarryTheirSeqPriorityAndIngestTime) {
  BatchSource source;
  source.Next(2, 100, Priority::kHigh);  // seqs before this batch's
  const filter::PopBatch& batch = source.Next(3, 100, Priority::kCritical);
  std::string out;
  for (size_t i = 0; i < batch.size(); ++i) {
    AppendDeliveredLine(batch.event(i), &out);
  }
  const std::vector<std::string> lines = Lines(out);
  ASSERT_EQ(lines.size(), 3u);
  for (size_t i = 0; i < lines.size(); ++i) {
    const JsonNode json = Parse(lines[i] + "\n");
    EXPECT_EQ(SeqOfLine(lines[i]), batch.event(i).seq.value);
    EXPECT_GT(batch.event(i).seq.value, 0u);
    ASSERT_NE(json.Find("gateway_priority"), nullptr);
    EXPECT_EQ(json.Find("gateway_priority")->text, "critical");
    ASSERT_NE(json.Find("gateway_ingest_time"), nullptr);
    EXPECT_EQ(json.Find("gateway_ingest_time")->text, "2026-07-08T14:03:41.020Z");
    ASSERT_NE(json.Find("id"), nullptr);
    EXPECT_EQ(json.Find("id")->text, std::to_string(2 + i));
  }
}

}  // namespace
}  // namespace gridgate::sink
