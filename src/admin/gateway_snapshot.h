#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "event/priority.h"
#include "filter/filter_stats.h"

namespace gridgate::admin {

// Delivery latency of one priority level (ingest to sink ack), in ms.
struct LatencyQuantiles {
  double p50_ms = 0;
  double p99_ms = 0;
};

// Everything the admin API shows, gathered by the daemon at one moment: the
// filter's own snapshot plus the figures that only the daemon knows. A plain
// value: the renderers read it and keep nothing. Fields the daemon cannot
// fill yet keep their defaults, which the renderers show as "unknown" (JSON
// null, no Prometheus sample) where the struct says so.
struct GatewaySnapshot {
  filter::FilterStats filter;

  // Events per second taken by the sources and handed to the sinks, each
  // averaged over the daemon's rate window. 0 when idle; a non-finite value
  // is shown as unknown.
  // What the sources saw before the filter (the filter counts the rest).
  uint64_t ingest_requests = 0;
  uint64_t ingest_events = 0;
  uint64_t ingest_invalid_events = 0;  // refused by the decoder, with a reason to the sender
  uint64_t ingest_bad_bodies = 0;      // requests that were not events at all

  double ingest_events_per_second = 0;
  double dispatch_events_per_second = 0;

  // Per level (index: LevelIndex), nullopt until a dispatcher measures it.
  std::array<std::optional<LatencyQuantiles>, kNumPriorities> delivery_latency{};

  double uptime_seconds = 0;
  std::string version;            // the build's version, e.g. "0.1.0"; UTF-8
  int64_t timestamp_unix_ms = 0;  // wall-clock time the snapshot was taken
};

// Time to empty the backlog (events queued in memory and on disk) at the
// current dispatch rate, in seconds: 0 when there is no backlog, nullopt when
// there is one and the rate is not positive and finite (it would never drain).
std::optional<double> DrainEstimateSeconds(const GatewaySnapshot& snapshot);

}  // namespace gridgate::admin
