#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "tools/load/sender.h"
#include "tools/load/sink/sink_server.h"
#include "tools/load/storm_report.h"

namespace gridgate::load {

// One whole scenario: the gateway, the sink and the sender on this machine.
struct StormOptions {
  std::string scenario = "storm";  // a name for the report
  std::string out_dir = "var/storm";
  // The gridgate binary; empty: `gridgate` beside this executable.
  std::string gridgate_path;
  SenderOptions sender;
  SinkOptions sink;
  uint64_t budget_bytes = uint64_t{512} << 20;
  // More `--set key=value` for the gateway (after the storm's own).
  std::vector<std::string> gateway_sets;
  int64_t sample_ms = 100;
  // Once the backlog is empty, keep sampling this long before the end RSS
  // (the gateway hands idle memory back after memory.release_quiet_period_ms).
  double quiet_seconds = 10;
  // Give up waiting for the backlog to drain after this long.
  double drain_timeout_seconds = 1800;

  // Expectations; a failed one makes the run fail. 0: not checked.
  double max_critical_p99_ms = 100;
  double max_any_p99_ms = 0;
  // The end RSS may exceed the start RSS by at most this much.
  uint64_t rss_slack_bytes = uint64_t{64} << 20;
  // Expect part of the load to reach the disk tier (a spill scenario).
  bool expect_spill = false;

  // The default scenarios of issue 5.
  static StormOptions Storm();   // make storm
  static StormOptions Steady();  // make steady
};

// Runs the scenario: starts the sink and gridgate (its own spill directory
// and log under out_dir), samples the gateway's backpressure endpoint and
// RSS, runs the sender, waits for the backlog to drain and the quiet period,
// stops the gateway with SIGTERM, then writes report.json, samples.tsv,
// plot.gp and storm.png (when gnuplot is installed) under out_dir. Progress
// goes to stderr.
//
// An error when something could not be started or written; otherwise the
// report, with the checks passed or failed.
Result<StormReport> RunStorm(const StormOptions& options);

}  // namespace gridgate::load
