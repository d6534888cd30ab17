#include "event/json_decoder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gridgate::event {
namespace {

// EVENTS.md's example, 339 bytes.
constexpr std::string_view kExample =
    R"({"source":"hes-east-01","source_seq":90071992548,"meter_id":"1ND785727916NMD06",)"
    R"("type":"over_voltage","cim_code":"3.26.38.93","device_time":"2026-07-08T14:03:40.100Z",)"
    R"("headend_time":"2026-07-08T14:03:41.020Z","value":138.6,"unit":"V","phase":"A",)"
    R"("duration_ms":180000,"location":{"transformer":"T-4411","feeder":"F-12",)"
    R"("substation":"S-03"}})";

// An event as an ordered list of (field, JSON literal), to edit one field.
class EventBuilder {
 public:
  EventBuilder() {
    fields_ = {{"source", R"("hes-1")"},
               {"meter_id", R"("M1")"},
               {"type", R"("last_gasp")"},
               {"device_time", R"("2026-07-08T14:03:40.100Z")"}};
  }
  EventBuilder& With(std::string field, std::string literal) {
    for (auto& f : fields_) {
      if (f.first == field) {
        f.second = std::move(literal);
        return *this;
      }
    }
    fields_.emplace_back(std::move(field), std::move(literal));
    return *this;
  }
  EventBuilder& Without(std::string_view field) {
    std::erase_if(fields_, [&](const auto& f) { return f.first == field; });
    return *this;
  }
  std::string Json() const {
    std::string s = "{";
    for (const auto& [name, literal] : fields_) {
      if (s.size() > 1) {
        s += ",";
      }
      s += "\"" + name + "\":" + literal;
    }
    return s + "}";
  }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

class JsonDecoderTest : public ::testing::Test {
 protected:
  void SetUp() override { Reset(DecodeOptions{}); }

  void Reset(const DecodeOptions& options) {
    auto decoder = Decoder::Create(options);
    ASSERT_TRUE(decoder.ok()) << decoder.status().ToString();
    decoder_ = std::move(decoder.value());
  }

  Status Decode(std::string_view body, BodyFormat format) {
    return decoder_->DecodeBatch(body, format, &events_, &errors_);
  }

  // Decodes one object; "" when it was taken, else its reason.
  std::string DecodeOne(const std::string& json) {
    body_ = json;
    Status s = Decode(body_, BodyFormat::kJson);
    EXPECT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(events_.size() + errors_.size(), 1u) << json;
    if (errors_.empty()) {
      return "";
    }
    EXPECT_EQ(errors_[0].index, 0u);
    return errors_[0].reason.empty() ? "(empty reason)" : errors_[0].reason;
  }

  // Every raw view lies inside `body`.
  void ExpectRawInside(std::string_view body) {
    for (const DecodedEvent& e : events_) {
      EXPECT_GE(e.raw.data(), body.data());
      EXPECT_LE(e.raw.data() + e.raw.size(), body.data() + body.size());
      EXPECT_EQ(e.raw.front(), '{');
      EXPECT_EQ(e.raw.back(), '}');
    }
  }

  std::unique_ptr<Decoder> decoder_;
  std::vector<DecodedEvent> events_;
  std::vector<EventError> errors_;
  std::string body_;
};

TEST_F(JsonDecoderTest, ExampleEventDecodesEveryField) {
  ASSERT_EQ(kExample.size(), 339u);
  ASSERT_TRUE(Decode(kExample, BodyFormat::kJson).ok());
  ASSERT_TRUE(errors_.empty()) << errors_[0].reason;
  ASSERT_EQ(events_.size(), 1u);
  const DecodedEvent& e = events_[0];
  EXPECT_EQ(e.index, 0u);
  EXPECT_EQ(e.raw, kExample);
  EXPECT_EQ(e.raw.data(), kExample.data());
  EXPECT_EQ(e.source, "hes-east-01");
  EXPECT_EQ(e.meter_id, "1ND785727916NMD06");
  EXPECT_EQ(e.type, "over_voltage");
  EXPECT_EQ(e.device_time_ms, 1'783'519'420'100);
  EXPECT_EQ(e.headend_time_ms, 1'783'519'421'020);
  EXPECT_EQ(e.source_seq, 90'071'992'548u);
  EXPECT_EQ(e.cim_code, "3.26.38.93");
  EXPECT_EQ(e.vendor_code, "");
  EXPECT_EQ(e.event_id, "");
  EXPECT_FALSE(e.priority.has_value());
}

TEST_F(JsonDecoderTest, OptionalStringsAndPriorityAreKept) {
  const std::string json = EventBuilder()
                               .With("event_id", R"("e-77")")
                               .With("vendor_code", R"("dlms:std:1")")
                               .With("priority", R"("critical")")
                               .Json();
  ASSERT_EQ(DecodeOne(json), "");
  EXPECT_EQ(events_[0].event_id, "e-77");
  EXPECT_EQ(events_[0].vendor_code, "dlms:std:1");
  EXPECT_EQ(events_[0].priority, Priority::kCritical);
  EXPECT_FALSE(events_[0].source_seq.has_value());
  EXPECT_FALSE(events_[0].headend_time_ms.has_value());
}

TEST_F(JsonDecoderTest, ArrayDecodesEachElementInOrder) {
  const std::string body = "[ " + EventBuilder().With("meter_id", R"("A")").Json() + " ,\n" +
                           EventBuilder().With("meter_id", R"("B")").Json() + "," +
                           std::string(kExample) + "\t]\n";
  ASSERT_TRUE(Decode(body, BodyFormat::kJson).ok());
  ASSERT_TRUE(errors_.empty()) << errors_[0].reason;
  ASSERT_EQ(events_.size(), 3u);
  EXPECT_EQ(events_[0].meter_id, "A");
  EXPECT_EQ(events_[1].meter_id, "B");
  EXPECT_EQ(events_[2].meter_id, "1ND785727916NMD06");
  EXPECT_EQ(events_[2].raw, kExample);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(events_[i].index, i);
  }
  ExpectRawInside(body);
}

TEST_F(JsonDecoderTest, EmptyArrayIsZeroEvents) {
  ASSERT_TRUE(Decode(" [ \n ] ", BodyFormat::kJson).ok());
  EXPECT_TRUE(events_.empty());
  EXPECT_TRUE(errors_.empty());
}

TEST_F(JsonDecoderTest, NdjsonSkipsBlankLinesAndNamesTheLine) {
  const std::string body = "\n" + EventBuilder().With("meter_id", R"("A")").Json() + "\r\n" +
                           "   \n" + EventBuilder().Without("type").Json() + "\n" +
                           EventBuilder().With("meter_id", R"("C")").Json();  // no final \n
  ASSERT_TRUE(Decode(body, BodyFormat::kNdjson).ok());
  ASSERT_EQ(events_.size(), 2u);
  EXPECT_EQ(events_[0].meter_id, "A");
  EXPECT_EQ(events_[0].index, 0u);
  EXPECT_EQ(events_[1].meter_id, "C");
  EXPECT_EQ(events_[1].index, 2u);
  ASSERT_EQ(errors_.size(), 1u);
  EXPECT_EQ(errors_[0].index, 1u);
  EXPECT_EQ(errors_[0].line, 4u);
  EXPECT_EQ(errors_[0].reason, "type: missing");
  ExpectRawInside(body);
}

TEST_F(JsonDecoderTest, RefusedSingleObjectIsAnEventErrorNotABodyError) {
  EXPECT_EQ(DecodeOne(EventBuilder().Without("meter_id").Json()), "meter_id: missing");
  EXPECT_EQ(DecodeOne(R"({"source":"a")"), "malformed JSON");
}

TEST_F(JsonDecoderTest, BodiesThatAreNotEventsAreInvalidArgument) {
  const std::string ok = EventBuilder().Json();
  const std::pair<BodyFormat, std::string> cases[] = {
      {BodyFormat::kJson, ""},
      {BodyFormat::kJson, " \r\n\t"},
      {BodyFormat::kJson, "\xEF\xBB\xBF"},
      {BodyFormat::kJson, "42"},
      {BodyFormat::kJson, R"("a string")"},
      {BodyFormat::kJson, "null"},
      {BodyFormat::kJson, "["},
      {BodyFormat::kJson, "[" + ok},
      {BodyFormat::kJson, "[" + ok + ","},
      {BodyFormat::kJson, "[" + ok + ",]"},
      {BodyFormat::kJson, "[," + ok + "]"},
      {BodyFormat::kJson, "[" + ok + ",," + ok + "]"},
      {BodyFormat::kJson, "[" + ok + "] x"},
      {BodyFormat::kJson, "[" + ok + "][]"},
      {BodyFormat::kJson, "[{]}"},
      {BodyFormat::kJson, "[" + ok + "}"},
      {BodyFormat::kJson, R"([{"a":"unterminated}])"},
      {BodyFormat::kJson, R"([{"a":"\"}])"},
      {BodyFormat::kNdjson, ""},
      {BodyFormat::kNdjson, "\n\r\n  \n"},
  };
  for (const auto& [format, body] : cases) {
    const Status s = Decode(body, format);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << "body: " << body;
    EXPECT_FALSE(s.message().empty());
    EXPECT_TRUE(events_.empty()) << body;
    EXPECT_TRUE(errors_.empty()) << body;
  }
}

TEST_F(JsonDecoderTest, LeadingBomIsSkipped) {
  const std::string body = "\xEF\xBB\xBF" + EventBuilder().Json();
  ASSERT_TRUE(Decode(body, BodyFormat::kJson).ok());
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].raw, EventBuilder().Json());
  ASSERT_TRUE(Decode("\xEF\xBB\xBF[" + EventBuilder().Json() + "]", BodyFormat::kJson).ok());
  EXPECT_EQ(events_.size(), 1u);
  // Only at the start of the body: a BOM on a later NDJSON line refuses that line.
  const std::string nd = EventBuilder().Json() + "\n\xEF\xBB\xBF" + EventBuilder().Json();
  ASSERT_TRUE(Decode(nd, BodyFormat::kNdjson).ok());
  EXPECT_EQ(events_.size(), 1u);
  ASSERT_EQ(errors_.size(), 1u);
  EXPECT_EQ(errors_[0].index, 1u);
  EXPECT_EQ(errors_[0].reason, "not a JSON object");
}

struct StringLimit {
  std::string_view field;
  size_t limit;
};

TEST_F(JsonDecoderTest, EachStringLimitAtTheEdge) {
  const StringLimit limits[] = {
      {"source", 32},      {"meter_id", 32}, {"type", 40}, {"event_id", 64}, {"cim_code", 24},
      {"vendor_code", 32}, {"unit", 8},      {"phase", 3}, {"raw", 256},     {"reading_type", 48},
  };
  for (const auto& [field, limit] : limits) {
    SCOPED_TRACE(field);
    EXPECT_EQ(
        DecodeOne(EventBuilder().With(std::string(field), Quoted(std::string(limit, 'x'))).Json()),
        "");
    EXPECT_EQ(
        DecodeOne(
            EventBuilder().With(std::string(field), Quoted(std::string(limit + 1, 'x'))).Json()),
        std::string(field) + ": longer than " + std::to_string(limit) + " characters");
  }
  for (std::string_view field : {"service_point", "transformer", "feeder", "substation"}) {
    SCOPED_TRACE(field);
    const auto location = [&](size_t n) {
      return "{" + Quoted(field) + ":" + Quoted(std::string(n, 'y')) + "}";
    };
    EXPECT_EQ(DecodeOne(EventBuilder().With("location", location(24)).Json()), "");
    EXPECT_EQ(DecodeOne(EventBuilder().With("location", location(25)).Json()),
              "location." + std::string(field) + ": longer than 24 characters");
  }
}

TEST_F(JsonDecoderTest, LimitsCountCharactersNotBytes) {
  std::string e_acute;
  for (int i = 0; i < 32; ++i) {
    e_acute += "\xC3\xA9";  // é, two bytes
  }
  ASSERT_EQ(DecodeOne(EventBuilder().With("meter_id", Quoted(e_acute)).Json()), "");
  EXPECT_EQ(events_[0].meter_id, e_acute);
  EXPECT_EQ(DecodeOne(EventBuilder().With("meter_id", Quoted(e_acute + "x")).Json()),
            "meter_id: longer than 32 characters");
  // An escape counts as the one character it stands for.
  ASSERT_EQ(DecodeOne(EventBuilder().With("phase", R"("\u0041BC")").Json()), "");
}

TEST_F(JsonDecoderTest, RequiredFieldsMissingOrEmpty) {
  for (std::string_view field : {"source", "meter_id", "type", "device_time"}) {
    EXPECT_EQ(DecodeOne(EventBuilder().Without(field).Json()), std::string(field) + ": missing");
  }
  for (std::string_view field : {"source", "meter_id", "type"}) {
    EXPECT_EQ(DecodeOne(EventBuilder().With(std::string(field), R"("")").Json()),
              std::string(field) + ": empty");
    EXPECT_EQ(DecodeOne(EventBuilder().With(std::string(field), "null").Json()),
              std::string(field) + ": not a string");
  }
  EXPECT_EQ(DecodeOne(EventBuilder().With("device_time", "null").Json()),
            "device_time: not RFC 3339 UTC");
  EXPECT_EQ(DecodeOne("{}"), "source: missing");
}

TEST_F(JsonDecoderTest, NullOptionalFieldIsAbsent) {
  ASSERT_EQ(DecodeOne(EventBuilder()
                          .With("cim_code", "null")
                          .With("source_seq", "null")
                          .With("priority", "null")
                          .With("location", "null")
                          .Json()),
            "");
  EXPECT_EQ(events_[0].cim_code, "");
  EXPECT_FALSE(events_[0].source_seq.has_value());
  EXPECT_FALSE(events_[0].priority.has_value());
}

struct WrongType {
  std::string_view field;
  std::string_view literal;
  std::string_view reason;
};

TEST_F(JsonDecoderTest, EachWrongTypeIsRefusedNamingTheField) {
  const WrongType cases[] = {
      {"source", "1", "source: not a string"},
      {"meter_id", "12345", "meter_id: not a string"},
      {"meter_id", R"(["M1"])", "meter_id: not a string"},
      {"type", "true", "type: not a string"},
      {"device_time", "1783519420100", "device_time: not RFC 3339 UTC"},
      {"device_time", R"("2026-07-08 14:03:40Z")", "device_time: not RFC 3339 UTC"},
      {"device_time", R"("2026-07-08T14:03:40+02:00")", "device_time: not RFC 3339 UTC"},
      {"headend_time", R"("yesterday")", "headend_time: not RFC 3339 UTC"},
      {"interval_start", R"("2026-13-01T00:00:00Z")", "interval_start: not RFC 3339 UTC"},
      {"event_id", "7", "event_id: not a string"},
      {"source_seq", R"("90071992548")", "source_seq: not an unsigned 64-bit integer"},
      {"source_seq", "-1", "source_seq: not an unsigned 64-bit integer"},
      {"source_seq", "1.0", "source_seq: not an unsigned 64-bit integer"},
      {"source_seq", "1e3", "source_seq: not an unsigned 64-bit integer"},
      {"duration_ms", "4294967296", "duration_ms: not an unsigned 32-bit integer"},
      {"duration_ms", "-5", "duration_ms: not an unsigned 32-bit integer"},
      {"duration_ms", R"("180000")", "duration_ms: not an unsigned 32-bit integer"},
      {"quality", "65536", "quality: not an unsigned 16-bit integer"},
      {"quality", "0.5", "quality: not an unsigned 16-bit integer"},
      {"cim_code", "3.26", "cim_code: not a string"},
      {"vendor_code", "{}", "vendor_code: not a string"},
      {"priority", R"("urgent")", "priority: not one of critical, high, normal, low"},
      {"priority", R"("CRITICAL")", "priority: not one of critical, high, normal, low"},
      {"priority", "0", "priority: not a string"},
      {"value", R"("138.6")", "value: not a number"},
      {"value", "true", "value: not a number"},
      {"unit", "1", "unit: not a string"},
      {"phase", "1", "phase: not a string"},
      {"reading_type", "[]", "reading_type: not a string"},
      {"location", R"("T-4411")", "location: not an object"},
      {"location", R"({"feeder":12})", "location.feeder: not a string"},
      {"raw", "false", "raw: not a string"},
  };
  for (const auto& [field, literal, reason] : cases) {
    EXPECT_EQ(DecodeOne(EventBuilder().With(std::string(field), std::string(literal)).Json()),
              reason)
        << field << "=" << literal;
  }
}

TEST_F(JsonDecoderTest, IntegerLimitsAtTheEdge) {
  ASSERT_EQ(DecodeOne(EventBuilder().With("source_seq", "18446744073709551615").Json()), "");
  EXPECT_EQ(events_[0].source_seq, UINT64_MAX);
  EXPECT_EQ(DecodeOne(EventBuilder().With("source_seq", "0").Json()), "");
  EXPECT_EQ(DecodeOne(EventBuilder().With("duration_ms", "4294967295").Json()), "");
  EXPECT_EQ(DecodeOne(EventBuilder().With("quality", "65535").Json()), "");
  EXPECT_EQ(DecodeOne(EventBuilder().With("value", "-1.5e-7").Json()), "");
  EXPECT_EQ(DecodeOne(EventBuilder().With("value", "18446744073709551615").Json()), "");
  // Past u64: not representable, the event is refused.
  EXPECT_NE(DecodeOne(EventBuilder().With("source_seq", "18446744073709551616").Json()), "");
}

TEST_F(JsonDecoderTest, HugeNumbersAnywhereRefuseTheEvent) {
  EXPECT_EQ(DecodeOne(EventBuilder().With("value", "1e999").Json()),
            "malformed JSON: invalid or out-of-range number");
  EXPECT_EQ(DecodeOne(EventBuilder().With("extra", "123456789012345678901234567890").Json()),
            "malformed JSON: invalid or out-of-range number");
}

TEST_F(JsonDecoderTest, TimestampsAcceptedAndRefused) {
  const std::pair<std::string_view, int64_t> good[] = {
      {"1970-01-01T00:00:00Z", 0},
      {"1970-01-01T00:00:00.1Z", 100},
      {"1970-01-01T00:00:00.12Z", 120},
      {"1970-01-01T00:00:00.123456789Z", 123},
      {"1970-01-01T00:00:00.999+00:00", 999},
      {"1969-12-31T23:59:59.999Z", -1},
      {"2026-07-08T14:03:40.100Z", 1'783'519'420'100},
      {"2024-02-29T12:00:00Z", 1'709'208'000'000},
      {"2016-12-31T23:59:60Z", 1'483'228'800'000},  // leap second: the next second
      {"0001-01-01T00:00:00Z", -62'135'596'800'000},
      {"9999-12-31T23:59:59.999Z", 253'402'300'799'999},
  };
  for (const auto& [text, ms] : good) {
    EXPECT_EQ(ParseRfc3339UtcMs(text), ms) << text;
  }
  const std::string_view bad[] = {
      "",
      "2026-07-08",
      "2026-07-08T14:03:40",              // no zone
      "2026-07-08T14:03:40z",             // lower-case z
      "2026-07-08t14:03:40Z",             // lower-case t
      "2026-07-08 14:03:40Z",             // space
      "2026-07-08T14:03:40+01:00",        // not UTC
      "2026-07-08T14:03:40-00:00",        // "unknown offset" in RFC 3339
      "2026-07-08T14:03:40+0000",         // not RFC 3339
      "2026-07-08T14:03:40.Z",            // no fraction digits
      "2026-07-08T14:03:40.1234567891Z",  // ten fraction digits
      "2023-02-29T00:00:00Z",             // not a leap year
      "2026-04-31T00:00:00Z",
      "2026-00-01T00:00:00Z",
      "2026-07-00T00:00:00Z",
      "2026-07-08T24:00:00Z",
      "2026-07-08T14:60:00Z",
      "2026-07-08T14:03:61Z",
      "+2026-07-08T14:03:40Z",
      "2026-07-08T14:03:40ZZ",
      "2026-07-08T14:03:40.100Z ",
      "２026-07-08T14:03:40Z",
  };
  for (std::string_view text : bad) {
    EXPECT_FALSE(ParseRfc3339UtcMs(text).has_value()) << text;
  }
}

TEST_F(JsonDecoderTest, EscapedKeysAndValuesAreUnescaped) {
  ASSERT_EQ(DecodeOne(R"({"source":"h\"1","meter\u005fid":"\u0031ND\/7","type":"last_gasp",)"
                      R"("device_time":"2026-07-08T14:03:40.100Z"})"),
            "");
  EXPECT_EQ(events_[0].source, "h\"1");
  EXPECT_EQ(events_[0].meter_id, "1ND/7");
}

TEST_F(JsonDecoderTest, DuplicateKeys) {
  const std::string twice = EventBuilder().Json().substr(1);  // without '{'
  EXPECT_EQ(DecodeOne(R"({"meter_id":"M0",)" + twice), "meter_id: duplicate key");
  EXPECT_EQ(DecodeOne(R"({"device_time":"2026-07-08T14:03:40.100Z",)" + twice),
            "device_time: duplicate key");
  // Even when one of them is null.
  EXPECT_EQ(DecodeOne(R"({"cim_code":null,"cim_code":"1.2.3.4",)" + twice),
            "cim_code: duplicate key");
  // Unknown fields are carried, repeats and all.
  EXPECT_EQ(DecodeOne(R"({"x":1,"x":2,)" + twice), "");
}

TEST_F(JsonDecoderTest, UnknownFieldsAndLocationKeysAreCarried) {
  const std::string json = EventBuilder()
                               .With("vendor", R"({"a":[1,2,{"b":null}],"c":"d"})")
                               .With("location", R"({"feeder":"F-1","pole":123})")
                               .Json();
  ASSERT_EQ(DecodeOne(json), "");
  EXPECT_EQ(events_[0].raw, json);
}

TEST_F(JsonDecoderTest, InvalidUtf8AnywhereRefusesThatEvent) {
  const std::string bad_values[] = {
      "\xC3",              // truncated sequence
      "\x80",              // lone continuation byte
      "\xC0\xAF",          // overlong '/'
      "\xED\xA0\x80",      // a UTF-16 surrogate
      "\xF4\x90\x80\x80",  // past U+10FFFF
      "\xFF",
  };
  for (const std::string& bad : bad_values) {
    SCOPED_TRACE(testing::PrintToString(bad));
    for (const std::string& json : {EventBuilder().With("meter_id", Quoted(bad)).Json(),
                                    EventBuilder().With("note", Quoted(bad)).Json(),
                                    EventBuilder().With("k" + bad, "1").Json()}) {
      const std::string body = EventBuilder().Json() + "\n" + json + "\n" + EventBuilder().Json();
      ASSERT_TRUE(Decode(body, BodyFormat::kNdjson).ok());
      EXPECT_EQ(events_.size(), 2u);
      ASSERT_EQ(errors_.size(), 1u);
      EXPECT_EQ(errors_[0].index, 1u);
      EXPECT_EQ(errors_[0].reason, "invalid UTF-8");

      const std::string array = "[" + EventBuilder().Json() + "," + json + "]";
      ASSERT_TRUE(Decode(array, BodyFormat::kJson).ok());
      EXPECT_EQ(events_.size(), 1u);
      ASSERT_EQ(errors_.size(), 1u);
      EXPECT_EQ(errors_[0].index, 1u);
      EXPECT_EQ(errors_[0].reason, "invalid UTF-8");
    }
  }
}

TEST_F(JsonDecoderTest, EventSizeAtTheEdge) {
  DecodeOptions options;
  options.max_event_bytes = 300;
  Reset(options);
  const std::string base = EventBuilder().Json();  // ends in '}'
  const std::string filler = R"(,"pad":"")";
  ASSERT_LT(base.size() + filler.size(), 300u);
  std::string exact = base.substr(0, base.size() - 1) + R"(,"pad":")" +
                      std::string(300 - base.size() - filler.size(), 'p') + "\"}";
  ASSERT_EQ(exact.size(), 300u);
  const std::string over = exact.substr(0, exact.size() - 2) + "p\"}";
  ASSERT_EQ(over.size(), 301u);

  EXPECT_EQ(DecodeOne("  " + exact + "\n"), "");  // whitespace around it is not counted
  EXPECT_EQ(DecodeOne(over), "event too long: 301 bytes, limit 300");

  const std::string nd = exact + "\n" + over + "\n" + base;
  ASSERT_TRUE(Decode(nd, BodyFormat::kNdjson).ok());
  EXPECT_EQ(events_.size(), 2u);
  ASSERT_EQ(errors_.size(), 1u);
  EXPECT_EQ(errors_[0].index, 1u);
  EXPECT_EQ(errors_[0].line, 2u);
  EXPECT_EQ(errors_[0].reason, "line too long: 301 bytes, limit 300");

  const std::string array = "[" + over + "," + exact + "]";
  ASSERT_TRUE(Decode(array, BodyFormat::kJson).ok());
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].index, 1u);
  ASSERT_EQ(errors_.size(), 1u);
  EXPECT_EQ(errors_[0].reason, "event too long: 301 bytes, limit 300");
}

TEST_F(JsonDecoderTest, CreateRefusesAUselessLimit) {
  DecodeOptions options;
  options.max_event_bytes = 1;
  EXPECT_EQ(Decoder::Create(options).status().code(), Status::Code::kInvalidArgument);
}

// Bad events next to good ones: each bad one is refused with a reason, the
// good ones decode, nothing crashes.
TEST_F(JsonDecoderTest, BadInputCorpusRefusesOnlyTheBadEvent) {
  const std::string good = EventBuilder().Json();
  std::string deep = EventBuilder().Json();
  deep.pop_back();
  deep += R"(,"deep":)" + std::string(200, '[') + std::string(200, ']') + "}";
  const std::pair<std::string, std::string_view> bad[] = {
      {R"({"source":"hes-1","meter_id")", "malformed JSON"},  // truncated
      {R"({"a":tru})", "malformed JSON"},
      {R"({"a":[[[{"b":{}}]]],})", "malformed JSON"},  // nested garbage, balanced
      {R"({"a" "b"})", "malformed JSON"},
      {R"({'source':'x'})", "malformed JSON"},
      {good + "x", "malformed JSON"},  // trailing content
      {good.substr(0, good.size() - 1) + ",\"n\":\"a\x01z\"}",
       "malformed JSON: unescaped control character in a string"},
      {good.substr(0, good.size() - 1) + ",\"n\":\"a" + std::string(1, '\0') + "z\"}",
       "malformed JSON: unescaped control character in a string"},
      {good.substr(0, good.size() - 1) + "," + std::string(1, '\0') + "}", "malformed JSON"},
      {good.substr(0, good.size() - 1) + R"(,"n":"\x"})", "malformed JSON: invalid string"},
      {good.substr(0, good.size() - 1) + R"(,"n":"\ud800"})", "malformed JSON: invalid string"},
      {good.substr(0, good.size() - 1) + R"(,"n":01})",
       "malformed JSON: invalid or out-of-range number"},
      {deep, "malformed JSON: nested deeper than 64"},
      {"\"just a string\"", "not a JSON object"},
      {"123", "not a JSON object"},
      {"null", "not a JSON object"},
      {R"(["a",{"b":1}])", "not a JSON object"},
      {"{}", "source: missing"},
  };
  for (const auto& [json, reason] : bad) {
    SCOPED_TRACE(testing::PrintToString(json));
    const std::string nd = good + "\n" + json + "\n" + good + "\n";
    ASSERT_TRUE(Decode(nd, BodyFormat::kNdjson).ok());
    ASSERT_EQ(events_.size(), 2u);
    EXPECT_EQ(events_[0].index, 0u);
    EXPECT_EQ(events_[1].index, 2u);
    ASSERT_EQ(errors_.size(), 1u);
    EXPECT_EQ(errors_[0].index, 1u);
    EXPECT_EQ(errors_[0].line, 2u);
    EXPECT_EQ(errors_[0].reason, reason);
    ExpectRawInside(nd);

    // The same element inside an array. A truncated element leaves the
    // array's brackets unbalanced: the whole body is malformed then.
    const std::string array = "[" + good + "," + json + "," + good + "]";
    if (json == R"({"source":"hes-1","meter_id")") {
      EXPECT_EQ(Decode(array, BodyFormat::kJson).code(), Status::Code::kInvalidArgument);
      continue;
    }
    ASSERT_TRUE(Decode(array, BodyFormat::kJson).ok())
        << Decode(array, BodyFormat::kJson).ToString();
    ASSERT_EQ(events_.size(), 2u);
    ASSERT_EQ(errors_.size(), 1u);
    EXPECT_EQ(errors_[0].index, 1u);
    EXPECT_EQ(errors_[0].line, 0u);
    EXPECT_EQ(errors_[0].reason, reason);
    ExpectRawInside(array);
  }
}

TEST_F(JsonDecoderTest, TruncatedAtEveryByteNeverCrashes) {
  const std::string body = "[" + std::string(kExample) + "," + EventBuilder().Json() + "]";
  for (size_t n = 0; n <= body.size(); ++n) {
    const std::string cut = body.substr(0, n);
    const Status s = Decode(cut, BodyFormat::kJson);
    if (n == body.size()) {
      ASSERT_TRUE(s.ok());
      EXPECT_EQ(events_.size(), 2u);
    } else {
      EXPECT_FALSE(s.ok()) << n;  // an array cut anywhere is unterminated
    }
    const std::string line = std::string(kExample).substr(0, std::min(n, kExample.size()));
    if (line.find_first_not_of(" \t\r\n") != std::string::npos) {
      ASSERT_TRUE(Decode(line, BodyFormat::kNdjson).ok());
      EXPECT_EQ(events_.size() + errors_.size(), 1u);
      EXPECT_EQ(events_.size(), n >= kExample.size() ? 1u : 0u) << n;
    }
  }
}

TEST_F(JsonDecoderTest, StringsWithBracketsAndCommasDoNotSplitTheArray) {
  const std::string tricky =
      EventBuilder().With("raw", R"("a ] } , [ { \" \\ ")").With("x", R"(["]",",","}"])").Json();
  const std::string body = "[" + tricky + "," + tricky + "]";
  ASSERT_TRUE(Decode(body, BodyFormat::kJson).ok());
  ASSERT_EQ(events_.size(), 2u) << (errors_.empty() ? "" : errors_[0].reason);
  EXPECT_EQ(events_[0].raw, tricky);
  EXPECT_EQ(events_[1].raw, tricky);
}

TEST_F(JsonDecoderTest, ManyEventsKeepTheirStringsAndTheDecoderIsReusable) {
  std::string body;
  for (int i = 0; i < 2000; ++i) {
    body += EventBuilder()
                .With("meter_id", Quoted("M" + std::to_string(i)))
                .With("cim_code", Quoted("c" + std::to_string(i)))
                .Json() +
            "\n";
  }
  for (int round = 0; round < 2; ++round) {
    ASSERT_TRUE(Decode(body, BodyFormat::kNdjson).ok());
    ASSERT_EQ(events_.size(), 2000u);
    for (int i = 0; i < 2000; ++i) {
      EXPECT_EQ(events_[i].meter_id, "M" + std::to_string(i));
      EXPECT_EQ(events_[i].cim_code, "c" + std::to_string(i));
      EXPECT_EQ(events_[i].source, "hes-1");
    }
  }
  // A refused event in the middle leaves no trace in the next one's strings.
  const std::string mixed = EventBuilder().With("meter_id", R"("A")").Json() + "\n" +
                            EventBuilder().With("meter_id", R"("B")").With("unit", "1").Json() +
                            "\n" + EventBuilder().With("meter_id", R"("C")").Json();
  ASSERT_TRUE(Decode(mixed, BodyFormat::kNdjson).ok());
  ASSERT_EQ(events_.size(), 2u);
  EXPECT_EQ(events_[0].meter_id, "A");
  EXPECT_EQ(events_[1].meter_id, "C");
  EXPECT_EQ(events_[1].source, "hes-1");
}

}  // namespace
}  // namespace gridgate::event
