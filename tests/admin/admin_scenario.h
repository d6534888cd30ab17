#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "admin/gateway_snapshot.h"
#include "common/status.h"
#include "fakes/event_factory.h"
#include "fakes/fake_clock.h"
#include "filter/backpressure_filter.h"
#include "spill/segment_format.h"

namespace gridgate::admin::testing {

// A real BackpressureFilter with a disk tier in `spill_dir`, driven through a
// small storm so that every section of the admin documents has something to
// show: a 64 KiB budget in 4 KiB slabs (as filter_test_util.h SmallOptions),
// segments of 4 blocks of 4 KiB (as spill_filter_test.cc), fsync every batch.
// Free of GoogleTest so that the promtool sample binary can use it too.
// Not thread-safe; `spill_dir` must exist and outlive this object.
class AdminScenario {
 public:
  static constexpr uint64_t kCritical = 5;  // critical events pushed
  static constexpr uint64_t kNormal = 400;  // normal readings, 200 bytes each: spills
  static constexpr uint64_t kTooLarge = 2;  // low events over max_event_bytes: refused
  static constexpr int64_t kAgeMs = 1500;   // clock moved after the pushes
  static constexpr size_t kBatch = 8;       // events per pop

  explicit AdminScenario(std::string spill_dir) : spill_dir_(std::move(spill_dir)) {}

  // Opens the filter and runs the storm: pushes the critical events, the
  // readings and the over-large events, advances the clock by kAgeMs, then
  // pops and acks one batch (the critical events and 3 readings), pops and
  // returns one batch, and pops one more that stays in flight. Any failure of
  // the filter's API is returned.
  Status Run() {
    filter::FilterOptions o;
    o.budget_bytes = 64 * 1024;
    o.slab_bytes = 4096;
    o.max_event_bytes = 1024;
    o.clock = &clock_;
    spill::SpillOptions s;
    s.dir = spill_dir_;
    s.block_bytes = 4096;
    s.segment_bytes = spill::kSegmentHeaderBytes + 4 * 4096;
    s.disk_budget_bytes = 64 * s.segment_bytes;
    s.fsync = spill::FsyncPolicy::kEveryBatch;
    o.spill = s;
    auto made = filter::BackpressureFilter::Create(o);
    if (!made.ok()) {
      return made.status();
    }
    filter_ = std::move(made).value();

    std::vector<Event> events;
    for (uint64_t i = 0; i < kCritical; ++i) {
      events.push_back(factory_.Make(Priority::kCritical, i, 200, clock_.UnixNs()));
    }
    // Pushed in batches of 20, so the spill decision is taken batch by batch.
    for (uint64_t i = 0; i < kNormal; ++i) {
      events.push_back(factory_.Make(Priority::kNormal, 1000 + i, 200, clock_.UnixNs()));
      if (events.size() == 20) {
        if (Status st = Push(events); !st.ok()) {
          return st;
        }
      }
    }
    for (uint64_t i = 0; i < kTooLarge; ++i) {
      events.push_back(factory_.Make(Priority::kLow, 9000 + i, 2000, clock_.UnixNs()));
    }
    if (Status st = Push(events); !st.ok()) {
      return st;
    }
    clock_.AdvanceMs(kAgeMs);

    const filter::PopLimits limits{.max_events = kBatch, .max_bytes = 1 << 20};
    filter::PopBatch acked;
    if (Status st = filter_->Pop(limits, std::chrono::nanoseconds(0), &acked); !st.ok()) {
      return st;
    }
    if (Status st = filter_->Ack(&acked); !st.ok()) {
      return st;
    }
    filter::PopBatch returned;
    if (Status st = filter_->Pop(limits, std::chrono::nanoseconds(0), &returned); !st.ok()) {
      return st;
    }
    if (Status st = filter_->Return(&returned); !st.ok()) {
      return st;
    }
    return filter_->Pop(limits, std::chrono::nanoseconds(0), &in_flight_);
  }

  // The filter's stats with daemon figures around them.
  GatewaySnapshot Snapshot() const {
    GatewaySnapshot snap;
    snap.filter = filter_->Stats();
    snap.ingest_events_per_second = 1234.5;
    snap.dispatch_events_per_second = 50;
    snap.delivery_latency[LevelIndex(Priority::kCritical)] = LatencyQuantiles{1.5, 12.25};
    snap.uptime_seconds = 42.5;
    snap.version = "0.1.0-test \"quoted\" back\\slash";
    snap.timestamp_unix_ms = clock_.UnixNs() / 1'000'000;
    return snap;
  }

  filter::BackpressureFilter& filter() { return *filter_; }
  const filter::PopBatch& in_flight() const { return in_flight_; }

 private:
  Status Push(std::vector<Event>& events) {
    std::vector<filter::PushOutcome> outcomes(events.size());
    Status st = filter_->Push(events, outcomes);
    events.clear();
    return st;
  }

  std::string spill_dir_;
  gridgate::testing::FakeClock clock_;
  gridgate::testing::EventFactory factory_;
  std::unique_ptr<filter::BackpressureFilter> filter_;
  filter::PopBatch in_flight_;
};

}  // namespace gridgate::admin::testing
