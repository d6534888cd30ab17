#include "ingest/ingest_pipeline.h"

#include <gtest/gtest.h>

#include <string>

#include "filter/filter_test_util.h"

namespace gridgate::ingest {
namespace {

using std::chrono::nanoseconds;

std::string Event(const std::string& type, const std::string& meter, int n) {
  return R"({"source":"hes-east-01","meter_id":")" + meter + R"(","type":")" + type +
         R"(","device_time":"2026-07-08T14:03:40.100Z","value":)" + std::to_string(n) + "}";
}

class IngestPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    filter::FilterOptions o = filter::SmallOptions(&clock_);
    o.max_event_bytes = 1024;
    filter_ = filter::MakeFilter(o);
    classifier_ = std::move(event::Classifier::Create(event::ClassifierRules::Default())).value();
    pipeline_ = std::move(IngestPipeline::Create(filter_.get(), classifier_.get(),
                                                 {.max_event_bytes = 1024}, &clock_))
                    .value();
  }

  testing::FakeClock clock_;
  std::unique_ptr<filter::BackpressureFilter> filter_;
  std::unique_ptr<event::Classifier> classifier_;
  std::unique_ptr<IngestPipeline> pipeline_;
};

TEST_F(IngestPipelineTest, ABadLineIsRefusedAloneAndTheRestIsClassifiedAndQueued) {
  const std::string body = Event("interval_reading", "M1", 1) + "\n" +
                           R"({"source":"hes","type":"over_voltage"})" + "\n\n" +
                           Event("over_voltage", "M2", 2) + "\n";
  IngestResult r;
  ASSERT_TRUE(pipeline_->Ingest(body, event::BodyFormat::kNdjson, &r).ok());
  EXPECT_EQ(r.events, 3u);
  EXPECT_EQ(r.accepted, 2u);
  ASSERT_EQ(r.refused.size(), 1u);
  EXPECT_EQ(r.refused[0].index, 1u);
  EXPECT_EQ(r.refused[0].line, 2u);
  EXPECT_NE(r.refused[0].reason.find("meter_id"), std::string::npos) << r.refused[0].reason;
  EXPECT_EQ(r.refused[0].retry_after_ms, 0u);
  EXPECT_FALSE(r.RefusedForPressure());
  EXPECT_EQ(r.last_seq, r.first_seq + 1);

  // The over-voltage alert (critical) comes out before the reading (low).
  filter::PopBatch batch;
  ASSERT_TRUE(filter_->Pop({}, nanoseconds(0), &batch).ok());
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_EQ(batch.event(0).priority, Priority::kCritical);
  EXPECT_EQ(batch.event(0).meter_id, "M2");
  EXPECT_EQ(batch.event(0).payload, Event("over_voltage", "M2", 2)) << "the sender's bytes";
  EXPECT_EQ(batch.event(0).ingest_time_ns, clock_.UnixNs());
  EXPECT_EQ(batch.event(1).priority, Priority::kLow);
}

TEST_F(IngestPipelineTest, ABodyThatIsNotEventsIsAnErrorAndTakesNothing) {
  IngestResult r;
  EXPECT_EQ(pipeline_->Ingest("42", event::BodyFormat::kJson, &r).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(filter_->Stats().Accepted(), 0u);
}

TEST_F(IngestPipelineTest, AFullFilterRefusesForPressureWithARetryAfter) {
  std::string body = "[";
  for (int i = 0; i < 400; ++i) {
    body += (i ? "," : "") + Event("interval_reading", "M" + std::to_string(i), i);
  }
  body += "]";
  IngestResult r;
  ASSERT_TRUE(pipeline_->Ingest(body, event::BodyFormat::kJson, &r).ok());
  ASSERT_GT(r.accepted, 0u);
  ASSERT_GT(r.refused.size(), 0u) << "a 64 KiB filter cannot take 400 events";
  EXPECT_EQ(r.accepted + r.refused.size(), 400u);
  EXPECT_EQ(r.refused[0].reason, "memory_full");
  // Now nothing fits: the whole request is refused for pressure.
  ASSERT_TRUE(pipeline_->Ingest("[" + Event("interval_reading", "X", 1) + "]",
                                event::BodyFormat::kJson, &r)
                  .ok());
  EXPECT_TRUE(r.RefusedForPressure());
  EXPECT_GT(r.MaxRetryAfterMs(), 0u);
  EXPECT_TRUE(filter_->Stats().LedgerBalanced());
}

}  // namespace
}  // namespace gridgate::ingest
