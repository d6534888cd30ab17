#pragma once

// Pre-built storm-shaped events for the benchmarks: a 200-byte JSON payload,
// a 17-byte meter id and a 16-byte type (281 record bytes each), built once
// outside the timed loops.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "event/event.h"

namespace gridgate::bench {

inline constexpr size_t kPayloadBytes = 200;

// The level of the i-th event in the storm mix (per mille: 7 critical, 170
// high, 255 normal, 568 low). 617 is coprime to 1000, so r takes every value
// in 0..999 once per 1000 events: the levels are spread evenly through the
// sequence rather than in runs.
inline Priority StormPriority(size_t i) {
  const size_t r = (i * 617) % 1000;
  if (r < 7) {
    return Priority::kCritical;
  }
  if (r < 7 + 170) {
    return Priority::kHigh;
  }
  if (r < 7 + 170 + 255) {
    return Priority::kNormal;
  }
  return Priority::kLow;
}

inline Priority AllLow(size_t) { return Priority::kLow; }

// A 16-byte event type per level.
inline std::string_view StormType(Priority p) {
  switch (p) {
    case Priority::kCritical:
      return "power_fail_alarm";
    case Priority::kHigh:
      return "voltage_sag_warn";
    case Priority::kNormal:
      return "register_reading";
    case Priority::kLow:
      return "interval_reading";
  }
  return "interval_reading";
}

// Events and the bytes they point to. Immutable once built, so threads may
// share one.
class EventPool {
 public:
  // `count` events whose levels come from `level_of(i)`.
  EventPool(size_t count, Priority (*level_of)(size_t)) {
    meter_ids_.reserve(count);
    payloads_.reserve(count);
    // The strings first, all of them: the events then view strings that no
    // longer move.
    for (size_t i = 0; i < count; ++i) {
      char meter_id[32];
      std::snprintf(meter_id, sizeof(meter_id), "1ND%09zuNMD%02zu", (i * 7919) % 1'000'000'000,
                    i % 100);
      meter_ids_.emplace_back(meter_id);
      std::string payload = "{\"meter\":\"" + meter_ids_.back() +
                            "\",\"ts\":1780000000000,\"kwh\":" + std::to_string(i % 9973) +
                            ".125,\"pad\":\"";
      payload.resize(kPayloadBytes - 2, 'x');
      payload += "\"}";
      payloads_.push_back(std::move(payload));
    }
    events_.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      Event e;
      e.priority = level_of(i);
      e.device_time_ms = 1'780'000'000'000 + static_cast<int64_t>(i);
      e.ingest_time_ns = 1'780'000'000'000'000'000 + static_cast<int64_t>(i);
      e.meter_id = meter_ids_[i];
      e.type = StormType(e.priority);
      e.payload = payloads_[i];
      events_.push_back(e);
    }
  }

  // The `index`-th run of `n` events, wrapping around the pool.
  // Precondition: n divides size().
  std::span<const Event> Chunk(size_t index, size_t n) const {
    const size_t begin = (index * n) % events_.size();
    return std::span<const Event>(events_).subspan(begin, n);
  }

  const Event& operator[](size_t i) const { return events_[i]; }
  size_t size() const { return events_.size(); }

 private:
  std::vector<std::string> meter_ids_;
  std::vector<std::string> payloads_;
  std::vector<Event> events_;
};

}  // namespace gridgate::bench
