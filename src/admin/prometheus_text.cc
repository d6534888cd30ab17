#include "admin/prometheus_text.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <optional>

#include "filter/push_outcome.h"

namespace gridgate::admin {
namespace {

struct Label {
  std::string_view name;
  std::string_view value;
};

std::string Number(uint64_t v) { return std::to_string(v); }

std::string Number(double v) {
  if (std::isnan(v)) {
    return "NaN";
  }
  if (std::isinf(v)) {
    return v > 0 ? "+Inf" : "-Inf";
  }
  char buf[64];
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

// Writes families and their samples. A family's HELP and TYPE lines are held
// back until its first sample, so a family without samples leaves no trace.
// Not thread-safe.
class Exposition {
 public:
  // Starts family `name` of `type` ("gauge", "counter", "summary").
  void Family(std::string_view name, std::string_view type, std::string_view help) {
    name_ = name;
    header_ = "# HELP ";
    header_ += name;
    header_ += ' ';
    // In HELP text only the backslash and the newline are escaped.
    for (char c : help) {
      if (c == '\\') {
        header_ += "\\\\";
      } else if (c == '\n') {
        header_ += "\\n";
      } else {
        header_ += c;
      }
    }
    header_ += "\n# TYPE ";
    header_ += name;
    header_ += ' ';
    header_ += type;
    header_ += '\n';
  }

  // A sample of the current family; `suffix` is "_sum" or "_count" for a
  // summary and empty otherwise.
  void Sample(std::initializer_list<Label> labels, const std::string& value,
              std::string_view suffix = {}) {
    out_ += header_;
    header_.clear();
    out_ += name_;
    out_ += suffix;
    if (labels.size() > 0) {
      out_ += '{';
      bool first = true;
      for (const Label& label : labels) {
        if (!first) {
          out_ += ',';
        }
        first = false;
        out_ += label.name;
        out_ += "=\"";
        AppendLabelValue(label.value);
        out_ += '"';
      }
      out_ += '}';
    }
    out_ += ' ';
    out_ += value;
    out_ += '\n';
  }

  void Sample(const std::string& value) { Sample({}, value); }

  // One sample per priority level, labelled `priority`.
  template <typename Fn>
  void PerLevel(Fn&& value_of) {
    for (Priority p : kAllPriorities) {
      Sample({{"priority", PriorityName(p)}}, Number(value_of(p)));
    }
  }

  std::string Finish() && { return std::move(out_); }

 private:
  // In label values the backslash, the double quote and the newline are
  // escaped.
  void AppendLabelValue(std::string_view value) {
    for (char c : value) {
      if (c == '\\') {
        out_ += "\\\\";
      } else if (c == '"') {
        out_ += "\\\"";
      } else if (c == '\n') {
        out_ += "\\n";
      } else {
        out_ += c;
      }
    }
  }

  std::string out_;
  std::string name_;
  std::string header_;
};

double MsToSeconds(double ms) { return ms / 1e3; }
double NsToSeconds(uint64_t ns) { return static_cast<double>(ns) / 1e9; }

void WriteState(const filter::FilterStats& s, Exposition& e) {
  e.Family("gridgate_filter_state", "gauge",
           "The backpressure filter's state: 1 for the current state, 0 for the others.");
  for (filter::FilterState state :
       {filter::FilterState::kNormal, filter::FilterState::kPressured,
        filter::FilterState::kSpilling, filter::FilterState::kDraining}) {
    e.Sample({{"state", filter::FilterStateName(state)}}, Number(uint64_t{s.state == state}));
  }
  e.Family("gridgate_filter_pressured_transitions_total", "counter",
           "Crossings of the high watermark (normal to pressured) since start.");
  e.Sample(Number(s.pressured_transitions));
}

void WriteMemory(const filter::FilterStats& s, Exposition& e) {
  e.Family("gridgate_memory_budget_bytes", "gauge", "Memory budget for queued event records.");
  e.Sample(Number(s.budget_bytes));
  e.Family("gridgate_memory_used_bytes", "gauge",
           "Record bytes queued in memory or in flight to a sink.");
  e.Sample(Number(s.used_bytes));
  e.Family("gridgate_memory_peak_used_bytes", "gauge",
           "The most record bytes ever in memory at once since start (never above the budget).");
  e.Sample(Number(s.peak_used_bytes));
  e.Family("gridgate_memory_mapped_bytes", "gauge", "Slab memory mapped from the OS.");
  e.Sample(Number(s.mapped_bytes));
  e.Family("gridgate_memory_utilisation_ratio", "gauge", "Used bytes over the memory budget.");
  if (s.budget_bytes > 0) {
    e.Sample(Number(static_cast<double>(s.used_bytes) / static_cast<double>(s.budget_bytes)));
  }
  e.Family("gridgate_memory_high_watermark_bytes", "gauge",
           "Used bytes at which the filter becomes pressured (and spills).");
  e.Sample(Number(s.high_watermark_bytes));
  e.Family("gridgate_memory_low_watermark_bytes", "gauge",
           "Used bytes under which a pressured filter returns to normal (or drains).");
  e.Sample(Number(s.low_watermark_bytes));
  e.Family("gridgate_memory_reserve_bytes", "gauge",
           "Part of the memory budget kept for the critical and high levels.");
  e.Sample({{"priority", PriorityName(Priority::kCritical)}}, Number(s.critical_reserve_bytes));
  e.Sample({{"priority", PriorityName(Priority::kHigh)}}, Number(s.high_reserve_bytes));
  e.Family("gridgate_memory_slab_size_bytes", "gauge", "Size of one memory slab.");
  e.Sample(Number(s.slab_bytes));
  e.Family("gridgate_memory_slabs_mapped", "gauge", "Slabs mapped from the OS now.");
  e.Sample(Number(s.slabs_mapped));
  e.Family("gridgate_memory_slabs_idle", "gauge", "Mapped slabs holding no record now.");
  e.Sample(Number(s.slabs_idle));
  e.Family("gridgate_memory_slab_maps_total", "counter", "Slabs mapped from the OS since start.");
  e.Sample(Number(s.slabs_mapped_total));
  e.Family("gridgate_memory_slab_unmaps_total", "counter",
           "Slabs handed back to the OS since start.");
  e.Sample(Number(s.slabs_unmapped_total));
  e.Family("gridgate_memory_slab_map_failures_total", "counter",
           "Slab mappings the OS refused since start.");
  e.Sample(Number(s.slab_map_failures));
}

void WriteLevels(const GatewaySnapshot& snapshot, Exposition& e) {
  const filter::FilterStats& s = snapshot.filter;
  auto level = [&s](Priority p) -> const filter::LevelStats& { return s.levels[LevelIndex(p)]; };
  e.Family("gridgate_events_queued", "gauge", "Events queued in memory.");
  e.PerLevel([&](Priority p) { return level(p).queued_events; });
  e.Family("gridgate_events_queued_bytes", "gauge", "Record bytes of the events queued in memory.");
  e.PerLevel([&](Priority p) { return level(p).queued_bytes; });
  e.Family("gridgate_events_in_flight", "gauge", "Events handed to a sink and not yet acked.");
  e.PerLevel([&](Priority p) { return level(p).in_flight_events; });
  e.Family("gridgate_events_in_flight_bytes", "gauge",
           "Record bytes of the events in flight to a sink.");
  e.PerLevel([&](Priority p) { return level(p).in_flight_bytes; });
  e.Family("gridgate_events_on_disk", "gauge", "Events spilled to disk and not yet drained back.");
  e.PerLevel([&](Priority p) { return level(p).on_disk_events; });
  e.Family("gridgate_events_on_disk_bytes", "gauge", "Record bytes of the events on disk.");
  e.PerLevel([&](Priority p) { return level(p).on_disk_bytes; });
  e.Family("gridgate_events_accepted_total", "counter", "Events taken by the filter since start.");
  e.PerLevel([&](Priority p) { return level(p).accepted; });
  e.Family("gridgate_events_refused_by_priority_total", "counter",
           "Events of a valid level refused since start, all reasons.");
  e.PerLevel([&](Priority p) { return level(p).refused; });
  e.Family("gridgate_events_delivered_total", "counter", "Events acked by a sink since start.");
  e.PerLevel([&](Priority p) { return level(p).delivered; });
  e.Family("gridgate_events_returned_total", "counter",
           "Events put back after a failed delivery since start (an event may count again).");
  e.PerLevel([&](Priority p) { return level(p).returned; });
  e.Family("gridgate_events_spilled_total", "counter", "Events written to disk since start.");
  e.PerLevel([&](Priority p) { return level(p).spilled; });
  e.Family("gridgate_events_drained_total", "counter",
           "Events read back from disk into memory since start.");
  e.PerLevel([&](Priority p) { return level(p).drained; });
  e.Family("gridgate_events_recovered_total", "counter", "Events found on disk at start.");
  e.PerLevel([&](Priority p) { return level(p).recovered; });
  e.Family("gridgate_events_lost_corrupt_total", "counter",
           "Events on disk that a damaged record took since start.");
  e.PerLevel([&](Priority p) { return level(p).lost_corrupt; });
  e.Family("gridgate_oldest_queued_age_seconds", "gauge",
           "Age of the oldest event queued in memory by its ingest time; 0 when none is queued.");
  e.PerLevel(
      [&](Priority p) { return MsToSeconds(static_cast<double>(level(p).oldest_queued_age_ms)); });

  // Quantiles without the sum and count a summary needs, so gauges.
  e.Family("gridgate_delivery_latency_p50_seconds", "gauge",
           "Median delivery latency, ingest to sink ack, over the dispatcher's window.");
  for (Priority p : kAllPriorities) {
    if (const auto& l = snapshot.delivery_latency[LevelIndex(p)]; l.has_value()) {
      e.Sample({{"priority", PriorityName(p)}}, Number(MsToSeconds(l->p50_ms)));
    }
  }
  e.Family("gridgate_delivery_latency_p99_seconds", "gauge",
           "99th percentile delivery latency, ingest to sink ack, over the dispatcher's window.");
  for (Priority p : kAllPriorities) {
    if (const auto& l = snapshot.delivery_latency[LevelIndex(p)]; l.has_value()) {
      e.Sample({{"priority", PriorityName(p)}}, Number(MsToSeconds(l->p99_ms)));
    }
  }
}

void WriteRefusalsAndLedger(const filter::FilterStats& s, Exposition& e) {
  e.Family("gridgate_events_refused_total", "counter",
           "Events refused back to their sender since start, by reason.");
  for (size_t i = 0; i < filter::kNumRefuseReasons; ++i) {
    const auto reason = static_cast<filter::RefuseReason>(i);
    if (reason != filter::RefuseReason::kNone) {
      e.Sample({{"reason", filter::RefuseReasonName(reason)}}, Number(s.refused_by_reason[i]));
    }
  }
  e.Family("gridgate_ledger_balanced", "gauge",
           "1 when accepted plus recovered events equal queued, on disk, in flight, delivered "
           "and lost ones for every level, 0 otherwise.");
  e.Sample(Number(uint64_t{s.LedgerBalanced()}));
}

void WriteSpill(const filter::FilterStats& s, Exposition& e) {
  const spill::SpillStats& d = s.spill;
  e.Family("gridgate_spill_enabled", "gauge", "1 when the filter has a disk tier.");
  e.Sample(Number(uint64_t{s.spill_enabled}));
  e.Family("gridgate_spill_disk_budget_bytes", "gauge", "Disk budget of the spill store.");
  e.Sample(Number(d.disk_budget_bytes));
  e.Family("gridgate_spill_disk_used_bytes", "gauge",
           "Disk space held by spill segment files, live and free.");
  e.Sample(Number(d.disk_bytes_used));
  e.Family("gridgate_spill_segment_size_bytes", "gauge", "Size of one spill segment file.");
  e.Sample(Number(d.segment_bytes));
  e.Family("gridgate_spill_segments", "gauge", "Spill segment files, by state.");
  e.Sample({{"state", "live"}}, Number(d.segments_live));
  e.Sample({{"state", "free"}}, Number(d.segments_free));
  e.Family("gridgate_spill_corrupt_records_total", "counter",
           "Damaged stretches of spill records skipped since start.");
  e.Sample(Number(d.corrupt_records));
  e.Family("gridgate_spill_corrupt_bytes_total", "counter",
           "Bytes of the damaged stretches skipped since start.");
  e.Sample(Number(d.corrupt_bytes));
  e.Family("gridgate_spill_bad_segment_headers_total", "counter",
           "Spill segment files with a damaged header since start.");
  e.Sample(Number(d.bad_segment_headers));
  // The store keeps a count, a total and a maximum of fsync durations: a
  // summary without quantiles, and the maximum as a gauge of its own.
  e.Family("gridgate_spill_fsync_duration_seconds", "summary",
           "Time spent in fdatasync of spill segments since start.");
  e.Sample({}, Number(NsToSeconds(d.fsync_ns_total)), "_sum");
  e.Sample({}, Number(d.fsyncs), "_count");
  e.Family("gridgate_spill_fsync_duration_max_seconds", "gauge",
           "Longest fdatasync of a spill segment since start.");
  e.Sample(Number(NsToSeconds(d.fsync_ns_max)));
  e.Family("gridgate_spill_fsync_errors_total", "counter",
           "Failed fdatasync calls on spill segments since start.");
  e.Sample(Number(d.fsync_errors));
  e.Family("gridgate_spill_recovery_duration_seconds", "gauge",
           "Time the spill store took to scan its segments at start.");
  e.Sample(Number(MsToSeconds(static_cast<double>(d.recovery_ms))));
}

void WriteGateway(const GatewaySnapshot& snapshot, Exposition& e) {
  const filter::FilterStats& s = snapshot.filter;
  e.Family("gridgate_ingest_requests_total", "counter",
           "Request bodies (HTTP) and read batches (TCP) taken by the sources.");
  e.Sample(Number(static_cast<double>(snapshot.ingest_requests)));
  e.Family("gridgate_ingest_events_total", "counter", "Events in those requests, valid or not.");
  e.Sample(Number(static_cast<double>(snapshot.ingest_events)));
  e.Family("gridgate_ingest_invalid_events_total", "counter",
           "Events refused by the decoder (malformed or invalid), each told to its sender.");
  e.Sample(Number(static_cast<double>(snapshot.ingest_invalid_events)));
  e.Family("gridgate_ingest_bad_bodies_total", "counter",
           "Requests refused whole because they were not events at all.");
  e.Sample(Number(static_cast<double>(snapshot.ingest_bad_bodies)));
  e.Family("gridgate_ingest_events_per_second", "gauge",
           "Events taken by the sources per second over the rate window.");
  e.Sample(Number(snapshot.ingest_events_per_second));
  e.Family("gridgate_dispatch_events_per_second", "gauge",
           "Events acked by the sinks per second over the rate window.");
  e.Sample(Number(snapshot.dispatch_events_per_second));
  e.Family("gridgate_dispatch_bytes_per_second", "gauge",
           "Record bytes acked by the sinks per second over the rate window.");
  e.Sample(Number(s.delivered_bytes_per_second));
  e.Family("gridgate_dispatch_batches_in_flight", "gauge",
           "Batches handed to a sink, not settled.");
  e.Sample(Number(s.batches_in_flight));
  e.Family("gridgate_backlog_events", "gauge", "Events queued in memory or on disk.");
  e.Sample(Number(s.Queued() + s.OnDisk()));
  e.Family("gridgate_backlog_drain_estimate_seconds", "gauge",
           "Time to deliver the backlog at the current dispatch rate; absent when that rate is 0 "
           "and there is a backlog.");
  if (const std::optional<double> eta = DrainEstimateSeconds(snapshot); eta.has_value()) {
    e.Sample(Number(*eta));
  }
  e.Family("gridgate_seq_lease_errors_total", "counter",
           "Failed writes of the sequence lease file since start.");
  e.Sample(Number(s.seq_lease_errors));
}

}  // namespace

std::string RenderPrometheus(const GatewaySnapshot& snapshot) {
  Exposition e;
  e.Family("gridgate_build_info", "gauge", "Always 1; the version of the running gateway.");
  e.Sample({{"version", snapshot.version}}, "1");
  e.Family("gridgate_uptime_seconds", "gauge", "Time since the gateway started.");
  e.Sample(Number(snapshot.uptime_seconds));
  WriteState(snapshot.filter, e);
  WriteMemory(snapshot.filter, e);
  WriteLevels(snapshot, e);
  WriteRefusalsAndLedger(snapshot.filter, e);
  WriteSpill(snapshot.filter, e);
  WriteGateway(snapshot, e);
  return std::move(e).Finish();
}

}  // namespace gridgate::admin
