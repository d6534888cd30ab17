#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fakes/event_factory.h"
#include "fakes/fake_clock.h"
#include "fakes/json_check.h"
#include "filter/backpressure_filter.h"
#include "filter/filter_test_util.h"
#include "filter/pop_batch.h"

namespace gridgate::sink {

// Real PopBatches for sink tests: pushes events through a small
// BackpressureFilter and pops them. Not thread-safe.
class BatchSource {
 public:
  BatchSource() : filter_(filter::MakeFilter(filter::SmallOptions(&clock_))) {}

  // Pops a batch of `count` events of `priority`, each with a payload of
  // `payload_bytes` (EventFactory's `{"id":N,"pad":"xx…"}`), and acks the
  // previous batch. Ids count up from 0 across calls.
  const filter::PopBatch& Next(size_t count, size_t payload_bytes = 100,
                               Priority priority = Priority::kNormal) {
    AckPending();
    std::vector<Event> events;
    for (size_t i = 0; i < count; ++i) {
      events.push_back(factory_.Make(priority, next_id_++, payload_bytes, kIngestTimeNs));
    }
    for (const filter::PushOutcome& o : filter::PushAll(*filter_, events)) {
      EXPECT_EQ(o.result, filter::PushResult::kQueued);
    }
    filter::PopLimits limits;
    limits.max_events = count;
    EXPECT_TRUE(filter_->Pop(limits, std::chrono::nanoseconds(0), &batch_).ok());
    EXPECT_EQ(batch_.size(), count);
    factory_.Clear();
    return batch_;
  }

  // Pushes events made from `payloads` (any bytes) and pops them as one batch.
  const filter::PopBatch& NextWithPayloads(const std::vector<std::string>& payloads,
                                           Priority priority = Priority::kCritical) {
    AckPending();
    std::vector<Event> events;
    for (const std::string& p : payloads) {
      Event e = factory_.Make(priority, next_id_++, 0, kIngestTimeNs);
      e.payload = p;
      events.push_back(e);
    }
    for (const filter::PushOutcome& o : filter::PushAll(*filter_, events)) {
      EXPECT_EQ(o.result, filter::PushResult::kQueued);
    }
    filter::PopLimits limits;
    limits.max_events = payloads.size();
    EXPECT_TRUE(filter_->Pop(limits, std::chrono::nanoseconds(0), &batch_).ok());
    EXPECT_EQ(batch_.size(), payloads.size());
    return batch_;
  }

  // 2026-07-08T14:03:41.020Z (and 123456 ns, which the format truncates).
  static constexpr int64_t kIngestTimeNs = 1'783'519'421'020'123'456;

 private:
  void AckPending() {
    if (batch_.in_flight()) {
      EXPECT_TRUE(filter_->Ack(&batch_).ok());
    }
  }

  testing::FakeClock clock_;
  testing::EventFactory factory_;
  std::unique_ptr<filter::BackpressureFilter> filter_;
  filter::PopBatch batch_;
  uint64_t next_id_ = 0;
};

// `text` split at '\n'; fails the test unless it ends with '\n'.
inline std::vector<std::string> Lines(std::string_view text) {
  std::vector<std::string> lines;
  EXPECT_TRUE(text.empty() || text.back() == '\n') << "torn last line";
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    lines.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// The gateway_seq of a delivered line, which must be valid JSON; 0 if not.
inline uint64_t SeqOfLine(const std::string& line) {
  std::string error;
  const auto json = testing::JsonCheck::Parse(line, &error);
  EXPECT_TRUE(json.has_value()) << error << " in " << line;
  if (!json.has_value()) {
    return 0;
  }
  const testing::JsonNode* seq = json->Find("gateway_seq");
  EXPECT_NE(seq, nullptr) << line;
  return seq == nullptr ? 0 : std::stoull(seq->text);
}

}  // namespace gridgate::sink
