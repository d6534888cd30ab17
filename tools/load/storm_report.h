#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "event/priority.h"
#include "tools/load/sink/hdr_histogram.h"

namespace gridgate::load {

struct LatencySummary {
  uint64_t count = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double p999_ms = 0;
  double max_ms = 0;

  static LatencySummary Of(const HdrHistogram& us);
};

// One pass/fail line of a scenario's expectations.
struct StormCheck {
  std::string name;
  bool passed = false;
  std::string detail;  // the measured figure against its limit
};

// One sample of the time series (every sample_ms).
struct StormSample {
  double t_s = 0;            // since the sender started
  double offered_eps = 0;    // new events sent
  double accepted_eps = 0;   // taken by the gateway (its ledger)
  double delivered_eps = 0;  // arrived at the sink
  uint64_t used_bytes = 0;   // the gateway's event buffers
  uint64_t budget_bytes = 0;
  uint64_t rss_bytes = 0;  // the gateway process
  uint64_t on_disk_events = 0;
  uint64_t backlog_events = 0;  // queued + on disk + in flight
  double critical_max_ms = 0;   // the slowest critical arrival in the interval (0: none)
};

// The figures of one run: report.json's keys (see the README's storm section).
struct StormReport {
  std::string scenario;
  std::string profile;
  std::string mix;
  std::string transport;
  uint64_t offered = 0;
  uint64_t canary_offered = 0;
  uint64_t accepted = 0;
  uint64_t refused = 0;
  uint64_t resent = 0;
  uint64_t unresolved = 0;
  uint64_t delivered = 0;  // distinct events that reached the sink
  uint64_t lost = 0;       // accepted by the gateway, never at the sink
  uint64_t duplicated = 0;
  uint64_t sink_failed_requests = 0;  // answered 503 in the sink's failure window
  std::array<LatencySummary, kNumPriorities> latency{};
  LatencySummary canary_latency;  // the canary stream alone (its own connection)
  // The gateway's own view: decode to the sink's ack (its dispatcher's
  // histogram, about 19% resolution).
  std::array<double, kNumPriorities> gateway_latency_p50_ms{};
  std::array<double, kNumPriorities> gateway_latency_p99_ms{};
  uint64_t budget_bytes = 0;
  uint64_t peak_buffer_bytes = 0;  // the gateway's own high-water mark of used_bytes
  uint64_t start_rss_bytes = 0;
  uint64_t peak_rss_bytes = 0;
  uint64_t end_rss_bytes = 0;
  uint64_t spilled = 0;
  uint64_t drained = 0;
  uint64_t peak_on_disk_events = 0;
  uint64_t peak_backlog_events = 0;
  double drain_seconds = 0;  // from the last event offered to an empty backlog
  double target_peak_eps = 0;
  double offered_eps = 0;    // the highest one-second rate the sender offered
  double achieved_eps = 0;   // the highest one-second rate the gateway accepted
  double delivered_eps = 0;  // the highest one-second rate the sink received
  // The mean rate at which the hold's events were offered: the profile's peak
  // when the sender kept pace, less when the gateway (or the machine) could
  // not take them that fast.
  double hold_offered_eps = 0;
  double max_lag_seconds = 0;  // how far the sender fell behind the profile
  double send_seconds = 0;     // the sender's whole run, resends included
  double total_seconds = 0;
  bool ledger_balanced = false;
  uint64_t gateway_lost_corrupt = 0;
  int gateway_exit_code = -1;
  std::vector<StormCheck> checks;

  bool Passed() const;
};

std::string StormReportJson(const StormReport& r);
std::string StormReportText(const StormReport& r);
// The samples as a tab-separated table with a header line (the plot's data).
std::string StormSamplesTsv(const std::vector<StormSample>& samples);
// A gnuplot script that draws `tsv` into `png` (one time axis, four panels).
std::string StormPlotScript(const StormReport& r, const std::string& tsv, const std::string& png);

}  // namespace gridgate::load
