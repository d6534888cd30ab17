#include "tools/load/event_generator.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "event/classifier.h"
#include "event/json_decoder.h"
#include "sink/common/delivered_format.h"
#include "tools/load/sink/sink_server.h"

namespace gridgate::load {
namespace {

constexpr int64_t kSentUs = 1'796'409'438'146'123;  // 2026-12-04

class EventGeneratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto decoder = event::Decoder::Create(event::DecodeOptions{});
    ASSERT_TRUE(decoder.ok());
    decoder_ = std::move(decoder).value();
    auto classifier = event::Classifier::Create(event::ClassifierRules::Default());
    ASSERT_TRUE(classifier.ok());
    classifier_ = std::move(classifier).value();
  }

  std::unique_ptr<event::Decoder> decoder_;
  std::unique_ptr<event::Classifier> classifier_;
};

// Every generated event is one line of 130..380 bytes that gridgate's own
// decoder takes, and its classifier gives it the priority it was drawn for.
TEST_F(EventGeneratorTest, EventsAreValidRealisticallySizedAndClassifiedAsDrawn) {
  const EventGenerator gen(Mix::Storm(), 500'000, 7, "hes-east-01");
  constexpr uint64_t kEvents = 20'000;
  std::string body;
  size_t min_bytes = SIZE_MAX;
  size_t max_bytes = 0;
  for (uint64_t seq = 0; seq < kEvents; ++seq) {
    const size_t before = body.size();
    gen.Append(seq, kSentUs, &body);
    const size_t line = body.size() - before - 1;  // without '\n'
    ASSERT_EQ(body.back(), '\n');
    ASSERT_EQ(body.find('\n', before), body.size() - 1) << "one line per event";
    min_bytes = std::min(min_bytes, line);
    max_bytes = std::max(max_bytes, line);
  }
  EXPECT_GE(min_bytes, 130u);
  EXPECT_LE(max_bytes, 380u);
  EXPECT_LT(min_bytes, 180u) << "bare alarms are short";
  EXPECT_GT(max_bytes, 330u) << "readings carry more";

  std::vector<event::DecodedEvent> events;
  std::vector<event::EventError> errors;
  ASSERT_TRUE(decoder_->DecodeBatch(body, event::BodyFormat::kNdjson, &events, &errors).ok());
  ASSERT_TRUE(errors.empty()) << errors.front().reason;
  ASSERT_EQ(events.size(), kEvents);
  for (uint64_t seq = 0; seq < kEvents; ++seq) {
    const event::Classification c = classifier_->Classify(events[seq]);
    ASSERT_TRUE(c.type_known) << events[seq].type;
    ASSERT_EQ(c.priority, gen.PriorityOf(seq)) << "seq " << seq << ": " << events[seq].type;
    // What the sink reads back from the event: its sequence and send time.
    const std::string line = "{\"gateway_priority\":\"" + std::string(PriorityName(c.priority)) +
                             "\"," + std::string(events[seq].raw.substr(1));
    const auto scanned = ScanSinkLine(line);
    ASSERT_TRUE(scanned.has_value()) << line;
    EXPECT_EQ(scanned->source_seq, seq);
    EXPECT_EQ(scanned->load_sent_us, kSentUs);
    EXPECT_FALSE(scanned->canary);
  }
}

TEST_F(EventGeneratorTest, TheMixIsHonoured) {
  const EventGenerator gen(Mix::Storm(), 500'000, 1, "hes");
  std::array<uint64_t, kNumPriorities> counts{};
  constexpr uint64_t kEvents = 200'000;
  for (uint64_t seq = 0; seq < kEvents; ++seq) {
    ++counts[LevelIndex(gen.PriorityOf(seq))];
  }
  const Mix want = Mix::Storm().Normalised();
  for (size_t i = 0; i < kNumPriorities; ++i) {
    const double share = static_cast<double>(counts[i]) / kEvents;
    // Binomial: 5 standard deviations at most.
    const double sd = std::sqrt(want.share[i] * (1 - want.share[i]) / kEvents);
    EXPECT_NEAR(share, want.share[i], 5 * sd + 1e-9) << PriorityName(static_cast<Priority>(i));
  }
  const EventGenerator everyday(Mix::Everyday(), 500'000, 1, "hes");
  uint64_t low = 0;
  for (uint64_t seq = 0; seq < kEvents; ++seq) {
    low += everyday.PriorityOf(seq) == Priority::kLow ? 1 : 0;
  }
  EXPECT_GT(static_cast<double>(low) / kEvents, 0.985);
}

TEST_F(EventGeneratorTest, AnEventIsAFunctionOfItsSequenceNumber) {
  const EventGenerator a(Mix::Storm(), 1000, 42, "hes");
  const EventGenerator b(Mix::Storm(), 1000, 42, "hes");
  const EventGenerator other_seed(Mix::Storm(), 1000, 43, "hes");
  int differ = 0;
  for (uint64_t seq = 0; seq < 100; ++seq) {
    std::string x, y, z;
    a.Append(seq, kSentUs, &x);
    b.Append(seq, kSentUs, &y);
    other_seed.Append(seq, kSentUs, &z);
    EXPECT_EQ(x, y);
    differ += x != z ? 1 : 0;
  }
  EXPECT_GT(differ, 90);
}

TEST_F(EventGeneratorTest, CanariesAreCriticalOverVoltageAlertsTheSinkRecognises) {
  const EventGenerator gen(Mix::Everyday(), 1000, 1, "hes");
  std::string body;
  gen.AppendCanary(77, kSentUs, &body);
  std::vector<event::DecodedEvent> events;
  std::vector<event::EventError> errors;
  ASSERT_TRUE(decoder_->DecodeBatch(body, event::BodyFormat::kNdjson, &events, &errors).ok());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "over_voltage");
  EXPECT_EQ(events[0].source, kCanarySource);
  EXPECT_EQ(classifier_->Classify(events[0]).priority, Priority::kCritical);
  const auto scanned =
      ScanSinkLine("{\"gateway_priority\":\"critical\"," + std::string(events[0].raw.substr(1)));
  ASSERT_TRUE(scanned.has_value());
  EXPECT_TRUE(scanned->canary);
  EXPECT_EQ(scanned->source_seq, 77u);
}

// The generator's own timestamp formatting (it remembers the date) writes
// what the gateway's formatter writes, across midnight and back.
TEST_F(EventGeneratorTest, TimestampsMatchTheGatewaysFormatterAcrossMidnight) {
  const EventGenerator gen(Mix::Storm(), 1000, 1, "hes");
  const int64_t midnight_us = int64_t{1'796'428'800} * 1'000'000;  // 2026-12-05T00:00:00Z
  for (int64_t sent_us :
       {midnight_us - 1'001, midnight_us - 1, midnight_us, midnight_us + 999, midnight_us + 1'000,
        midnight_us - 86'400'000'000 + 123'456'789, midnight_us + 3'599'999'999, kSentUs}) {
    std::string line;
    gen.AppendCanary(1, sent_us, &line);
    std::string want = "\"headend_time\":\"";
    sink::AppendRfc3339Millis(sent_us * 1000, &want);
    want += "\"";
    EXPECT_NE(line.find(want), std::string::npos) << want << " in " << line;
  }
}

TEST(MixTest, ParseTakesFourSharesAndNamesTheProblem) {
  auto m = Mix::Parse("0.7,17,25.5,56.7");
  ASSERT_TRUE(m.ok());
  EXPECT_NEAR(m->Normalised().share[0], 0.7 / 99.9, 1e-12);
  EXPECT_FALSE(Mix::Parse("1,2,3").ok());
  EXPECT_FALSE(Mix::Parse("1,2,3,4,5").ok());
  EXPECT_FALSE(Mix::Parse("1,x,3,4").ok());
  EXPECT_FALSE(Mix::Parse("0,0,0,0").ok());
  EXPECT_NE(Mix::Parse("1,-2,3,4").status().message().find("mix"), std::string::npos);
}

}  // namespace
}  // namespace gridgate::load
