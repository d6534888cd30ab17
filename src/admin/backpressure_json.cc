#include "admin/backpressure_json.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "common/json_escape.h"
#include "filter/push_outcome.h"

namespace gridgate::admin {
namespace {

// Writes nested objects with two-space indentation. Objects only: the
// document has no arrays, its keys are fixed. Not thread-safe.
class JsonWriter {
 public:
  JsonWriter() {
    out_ += '{';
    first_.push_back(true);
  }

  void Open(std::string_view key) {
    Key(key);
    out_ += '{';
    first_.push_back(true);
  }

  void Close() {
    const bool empty = first_.back();
    first_.pop_back();
    if (!empty) {
      NewLine();
    }
    out_ += '}';
  }

  void Uint(std::string_view key, uint64_t v) {
    Key(key);
    out_ += std::to_string(v);
  }

  void Int(std::string_view key, int64_t v) {
    Key(key);
    out_ += std::to_string(v);
  }

  // null when `v` is absent, NaN or infinite (JSON has no such numbers).
  void Double(std::string_view key, std::optional<double> v) {
    Key(key);
    if (!v.has_value() || !std::isfinite(*v)) {
      out_ += "null";
      return;
    }
    // Shortest text that reads back as the same double: "0.25", "1e-05",
    // "3e+21", all valid JSON numbers.
    char buf[64];
    const std::to_chars_result r = std::to_chars(buf, buf + sizeof(buf), *v);
    out_.append(buf, r.ptr);
  }

  void Bool(std::string_view key, bool v) {
    Key(key);
    out_ += v ? "true" : "false";
  }

  void String(std::string_view key, std::string_view v) {
    Key(key);
    AppendJsonString(v, &out_);
  }

  // Closes the root object and returns the document.
  std::string Finish() && {
    Close();
    out_ += '\n';
    return std::move(out_);
  }

 private:
  void NewLine() {
    out_ += '\n';
    out_.append(2 * first_.size(), ' ');
  }

  void Key(std::string_view key) {
    if (!first_.back()) {
      out_ += ',';
    }
    first_.back() = false;
    NewLine();
    AppendJsonString(key, &out_);
    out_ += ": ";
  }

  std::string out_;
  std::vector<bool> first_;  // per open object: nothing written in it yet
};

std::optional<double> Ratio(uint64_t part, uint64_t whole) {
  if (whole == 0) {
    return std::nullopt;
  }
  return static_cast<double>(part) / static_cast<double>(whole);
}

uint64_t SumLevels(const filter::FilterStats& s, uint64_t filter::LevelStats::*field) {
  uint64_t n = 0;
  for (const filter::LevelStats& l : s.levels) {
    n += l.*field;
  }
  return n;
}

void WriteMemory(const filter::FilterStats& s, JsonWriter& w) {
  w.Open("memory");
  w.Uint("budget_bytes", s.budget_bytes);
  w.Uint("used_bytes", s.used_bytes);
  w.Uint("peak_used_bytes", s.peak_used_bytes);
  w.Uint("mapped_bytes", s.mapped_bytes);
  w.Double("utilisation", Ratio(s.used_bytes, s.budget_bytes));
  w.Open("watermarks");
  w.Uint("high_bytes", s.high_watermark_bytes);
  w.Double("high_fraction", Ratio(s.high_watermark_bytes, s.budget_bytes));
  w.Uint("low_bytes", s.low_watermark_bytes);
  w.Double("low_fraction", Ratio(s.low_watermark_bytes, s.budget_bytes));
  w.Close();
  w.Open("reserves");
  w.Uint("critical_bytes", s.critical_reserve_bytes);
  w.Uint("high_bytes", s.high_reserve_bytes);
  w.Close();
  w.Open("slabs");
  w.Uint("slab_bytes", s.slab_bytes);
  w.Uint("mapped", s.slabs_mapped);
  w.Uint("idle", s.slabs_idle);
  w.Uint("mapped_total", s.slabs_mapped_total);
  w.Uint("unmapped_total", s.slabs_unmapped_total);
  w.Uint("map_failures", s.slab_map_failures);
  w.Close();
  w.Close();
}

void WriteSpill(const filter::FilterStats& s, JsonWriter& w) {
  const spill::SpillStats& d = s.spill;
  w.Open("spill");
  w.Bool("enabled", s.spill_enabled);
  w.Uint("spilled", SumLevels(s, &filter::LevelStats::spilled));
  w.Uint("drained", SumLevels(s, &filter::LevelStats::drained));
  w.Uint("recovered", SumLevels(s, &filter::LevelStats::recovered));
  w.Uint("lost_corrupt", SumLevels(s, &filter::LevelStats::lost_corrupt));
  w.Uint("disk_budget_bytes", d.disk_budget_bytes);
  w.Uint("disk_bytes_used", d.disk_bytes_used);
  w.Uint("segment_bytes", d.segment_bytes);
  w.Uint("segments_live", d.segments_live);
  w.Uint("segments_free", d.segments_free);
  w.Open("events_on_disk");
  for (Priority p : kAllPriorities) {
    w.Uint(PriorityName(p), s.levels[LevelIndex(p)].on_disk_events);
  }
  w.Close();
  w.Open("bytes_on_disk");
  for (Priority p : kAllPriorities) {
    w.Uint(PriorityName(p), s.levels[LevelIndex(p)].on_disk_bytes);
  }
  w.Close();
  w.Uint("corrupt_records", d.corrupt_records);
  w.Uint("corrupt_bytes", d.corrupt_bytes);
  w.Uint("bad_segment_headers", d.bad_segment_headers);
  w.Open("fsync");
  w.Uint("count", d.fsyncs);
  w.Uint("errors", d.fsync_errors);
  // The mean and the max of no fsync at all are unknown, not 0 ms.
  std::optional<double> mean_ms;
  std::optional<double> max_ms;
  if (d.fsyncs > 0) {
    mean_ms = static_cast<double>(d.fsync_ns_total) / static_cast<double>(d.fsyncs) / 1e6;
    max_ms = static_cast<double>(d.fsync_ns_max) / 1e6;
  }
  w.Double("mean_latency_ms", mean_ms);
  w.Double("max_latency_ms", max_ms);
  w.Close();
  w.Int("recovery_ms", d.recovery_ms);
  w.Close();
}

void WriteLevels(const GatewaySnapshot& snapshot, JsonWriter& w) {
  w.Open("levels");
  for (Priority p : kAllPriorities) {
    const filter::LevelStats& l = snapshot.filter.levels[LevelIndex(p)];
    const std::optional<LatencyQuantiles>& latency = snapshot.delivery_latency[LevelIndex(p)];
    w.Open(PriorityName(p));
    w.Uint("queued_events", l.queued_events);
    w.Uint("queued_bytes", l.queued_bytes);
    w.Uint("in_flight_events", l.in_flight_events);
    w.Uint("in_flight_bytes", l.in_flight_bytes);
    w.Uint("accepted", l.accepted);
    w.Uint("refused", l.refused);
    w.Uint("delivered", l.delivered);
    w.Uint("returned", l.returned);
    w.Uint("on_disk_events", l.on_disk_events);
    w.Uint("on_disk_bytes", l.on_disk_bytes);
    w.Uint("spilled", l.spilled);
    w.Uint("drained", l.drained);
    w.Uint("recovered", l.recovered);
    w.Uint("lost_corrupt", l.lost_corrupt);
    w.Int("oldest_queued_age_ms", l.oldest_queued_age_ms);
    w.Double("latency_p50_ms",
             latency.has_value() ? std::optional<double>(latency->p50_ms) : std::nullopt);
    w.Double("latency_p99_ms",
             latency.has_value() ? std::optional<double>(latency->p99_ms) : std::nullopt);
    w.Close();
  }
  w.Close();
}

void WriteRefusals(const filter::FilterStats& s, JsonWriter& w) {
  w.Open("refused_by_reason");
  for (size_t i = 0; i < filter::kNumRefuseReasons; ++i) {
    const auto reason = static_cast<filter::RefuseReason>(i);
    if (reason == filter::RefuseReason::kNone) {
      continue;  // not a refusal: its counter never moves
    }
    w.Uint(filter::RefuseReasonName(reason), s.refused_by_reason[i]);
  }
  w.Close();
}

void WriteLedger(const filter::FilterStats& s, JsonWriter& w) {
  w.Open("ledger");
  w.Uint("accepted", s.Accepted());
  w.Uint("recovered", s.Recovered());
  w.Uint("queued", s.Queued());
  w.Uint("on_disk", s.OnDisk());
  w.Uint("in_flight", s.InFlight());
  w.Uint("delivered", s.Delivered());
  w.Uint("lost", s.LostCorrupt());
  w.Uint("refused", s.Refused());
  w.Bool("balanced", s.LedgerBalanced());
  w.Close();
}

}  // namespace

std::string RenderBackpressureJson(const GatewaySnapshot& snapshot) {
  const filter::FilterStats& s = snapshot.filter;
  JsonWriter w;
  w.String("version", snapshot.version);
  w.Int("timestamp_unix_ms", snapshot.timestamp_unix_ms);
  w.Double("uptime_seconds", snapshot.uptime_seconds);
  w.String("state", filter::FilterStateName(s.state));
  w.Uint("pressured_transitions", s.pressured_transitions);
  WriteMemory(s, w);
  WriteSpill(s, w);
  WriteLevels(snapshot, w);
  WriteRefusals(s, w);
  WriteLedger(s, w);
  w.Open("ingest");
  w.Uint("requests", snapshot.ingest_requests);
  w.Uint("events", snapshot.ingest_events);
  w.Uint("invalid_events", snapshot.ingest_invalid_events);
  w.Uint("bad_bodies", snapshot.ingest_bad_bodies);
  w.Close();
  w.Open("rates");
  w.Double("ingest_events_per_second", snapshot.ingest_events_per_second);
  w.Double("dispatch_events_per_second", snapshot.dispatch_events_per_second);
  w.Double("dispatch_bytes_per_second", s.delivered_bytes_per_second);
  w.Close();
  w.Uint("batches_in_flight", s.batches_in_flight);
  w.Uint("seq_lease_errors", s.seq_lease_errors);
  w.Uint("backlog_events", s.Queued() + s.OnDisk());
  w.Double("drain_estimate_seconds", DrainEstimateSeconds(snapshot));
  return std::move(w).Finish();
}

}  // namespace gridgate::admin
