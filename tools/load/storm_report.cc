#include "tools/load/storm_report.h"

#include <cinttypes>
#include <cstdarg>
#include <cstdio>

#include "common/json_escape.h"

namespace gridgate::load {
namespace {

std::string Fmt(const char* format, ...) __attribute__((format(printf, 1, 2)));
std::string Fmt(const char* format, ...) {
  char buf[512];
  va_list args;
  va_start(args, format);
  std::vsnprintf(buf, sizeof(buf), format, args);
  va_end(args);
  return buf;
}

double Mib(uint64_t bytes) { return static_cast<double>(bytes) / (1 << 20); }

}  // namespace

LatencySummary LatencySummary::Of(const HdrHistogram& us) {
  LatencySummary s;
  s.count = us.count();
  if (s.count == 0) {
    return s;
  }
  s.p50_ms = static_cast<double>(us.Quantile(0.5)) / 1000;
  s.p99_ms = static_cast<double>(us.Quantile(0.99)) / 1000;
  s.p999_ms = static_cast<double>(us.Quantile(0.999)) / 1000;
  s.max_ms = static_cast<double>(us.max()) / 1000;
  return s;
}

bool StormReport::Passed() const {
  for (const StormCheck& c : checks) {
    if (!c.passed) {
      return false;
    }
  }
  return true;
}

std::string StormReportJson(const StormReport& r) {
  std::string out = "{\n";
  auto key = [&out](const char* k) {
    out += "  \"";
    out += k;
    out += "\": ";
  };
  auto str = [&](const char* k, const std::string& v) {
    key(k);
    AppendJsonString(v, &out);
    out += ",\n";
  };
  auto u = [&](const char* k, uint64_t v) {
    key(k);
    out += std::to_string(v) + ",\n";
  };
  auto d = [&](const char* k, double v) {
    key(k);
    out += Fmt("%.3f", v) + ",\n";
  };
  str("scenario", r.scenario);
  str("profile", r.profile);
  str("mix", r.mix);
  str("transport", r.transport);
  u("offered", r.offered);
  u("canary_offered", r.canary_offered);
  u("accepted", r.accepted);
  u("refused", r.refused);
  u("resent", r.resent);
  u("unresolved", r.unresolved);
  u("delivered", r.delivered);
  u("lost", r.lost);
  u("duplicated", r.duplicated);
  u("sink_failed_requests", r.sink_failed_requests);
  key("latency_ms");
  out += "{\n";
  for (Priority p : kAllPriorities) {
    const LatencySummary& l = r.latency[LevelIndex(p)];
    out += Fmt("    \"%s\": {\"count\": %" PRIu64
               ", \"p50\": %.3f, \"p99\": %.3f, \"p999\": %.3f, \"max\": %.3f}%s\n",
               std::string(PriorityName(p)).c_str(), l.count, l.p50_ms, l.p99_ms, l.p999_ms,
               l.max_ms, ",");
  }
  const LatencySummary& c = r.canary_latency;
  out += Fmt("    \"canary\": {\"count\": %" PRIu64
             ", \"p50\": %.3f, \"p99\": %.3f, \"p999\": %.3f, \"max\": %.3f}\n",
             c.count, c.p50_ms, c.p99_ms, c.p999_ms, c.max_ms);
  out += "  },\n";
  key("gateway_latency_ms");
  out += "{\n";
  for (Priority p : kAllPriorities) {
    const size_t i = LevelIndex(p);
    out += Fmt("    \"%s\": {\"p50\": %.3f, \"p99\": %.3f}%s\n",
               std::string(PriorityName(p)).c_str(), r.gateway_latency_p50_ms[i],
               r.gateway_latency_p99_ms[i], p == Priority::kLow ? "" : ",");
  }
  out += "  },\n";
  u("budget_bytes", r.budget_bytes);
  u("peak_buffer_bytes", r.peak_buffer_bytes);
  u("start_rss_bytes", r.start_rss_bytes);
  u("peak_rss_bytes", r.peak_rss_bytes);
  u("end_rss_bytes", r.end_rss_bytes);
  u("spilled", r.spilled);
  u("drained", r.drained);
  u("peak_on_disk_events", r.peak_on_disk_events);
  u("peak_backlog_events", r.peak_backlog_events);
  d("drain_seconds", r.drain_seconds);
  d("target_peak_eps", r.target_peak_eps);
  d("offered_eps", r.offered_eps);
  d("achieved_eps", r.achieved_eps);
  d("delivered_eps", r.delivered_eps);
  d("hold_offered_eps", r.hold_offered_eps);
  d("max_lag_seconds", r.max_lag_seconds);
  d("send_seconds", r.send_seconds);
  d("total_seconds", r.total_seconds);
  key("ledger_balanced");
  out += r.ledger_balanced ? "true,\n" : "false,\n";
  u("gateway_lost_corrupt", r.gateway_lost_corrupt);
  key("gateway_exit_code");
  out += std::to_string(r.gateway_exit_code) + ",\n";
  key("checks");
  out += "[\n";
  for (size_t i = 0; i < r.checks.size(); ++i) {
    const StormCheck& c = r.checks[i];
    out += "    {\"name\": ";
    AppendJsonString(c.name, &out);
    out += c.passed ? ", \"passed\": true" : ", \"passed\": false";
    out += ", \"detail\": ";
    AppendJsonString(c.detail, &out);
    out += i + 1 < r.checks.size() ? "},\n" : "}\n";
  }
  out += "  ],\n";
  key("passed");
  out += r.Passed() ? "true\n" : "false\n";
  out += "}\n";
  return out;
}

std::string StormReportText(const StormReport& r) {
  std::string out;
  out += Fmt("gridgate-load %s: %s\n", r.scenario.c_str(), r.profile.c_str());
  out += Fmt("  mix %s, over %s\n", r.mix.c_str(), r.transport.c_str());
  out +=
      Fmt("  offered    %12" PRIu64 " events (%" PRIu64 " canaries), peak %.0f events/s of %.0f\n",
          r.offered, r.canary_offered, r.offered_eps, r.target_peak_eps);
  if (r.hold_offered_eps > 0) {
    out +=
        Fmt("             the hold's events went out at %.0f events/s on average; the sender "
            "was at most %.1f s behind the profile\n",
            r.hold_offered_eps, r.max_lag_seconds);
  }
  out += Fmt("  accepted   %12" PRIu64 " events, peak %.0f events/s; refused %" PRIu64
             " times, resent %" PRIu64 ", unresolved %" PRIu64 "\n",
             r.accepted, r.achieved_eps, r.refused, r.resent, r.unresolved);
  out += Fmt("  delivered  %12" PRIu64 " events, peak %.0f events/s; lost %" PRIu64
             ", duplicated %" PRIu64 "\n",
             r.delivered, r.delivered_eps, r.lost, r.duplicated);
  out += Fmt("  spilled    %12" PRIu64 " events, drained %" PRIu64 "; peak on disk %" PRIu64
             ", peak backlog %" PRIu64 "; backlog empty %.1f s after the last send\n",
             r.spilled, r.drained, r.peak_on_disk_events, r.peak_backlog_events, r.drain_seconds);
  out +=
      Fmt("  memory     event buffers peak %.1f MiB of a %.1f MiB budget; RSS start %.1f, "
          "peak %.1f, end %.1f MiB\n",
          Mib(r.peak_buffer_bytes), Mib(r.budget_bytes), Mib(r.start_rss_bytes),
          Mib(r.peak_rss_bytes), Mib(r.end_rss_bytes));
  out += "  latency ms  (sender write to sink arrival)              gateway (decode to ack)\n";
  out += "              count       p50       p99      p999       max        p50       p99\n";
  for (Priority p : kAllPriorities) {
    const LatencySummary& l = r.latency[LevelIndex(p)];
    out +=
        Fmt("    %-8s %9" PRIu64 " %9.2f %9.2f %9.2f %9.2f  %9.2f %9.2f\n",
            std::string(PriorityName(p)).c_str(), l.count, l.p50_ms, l.p99_ms, l.p999_ms, l.max_ms,
            r.gateway_latency_p50_ms[LevelIndex(p)], r.gateway_latency_p99_ms[LevelIndex(p)]);
  }
  const LatencySummary& c = r.canary_latency;
  out += Fmt("    %-8s %9" PRIu64 " %9.2f %9.2f %9.2f %9.2f\n", "(canary)", c.count, c.p50_ms,
             c.p99_ms, c.p999_ms, c.max_ms);
  out += Fmt("  ledger %s, gateway exit code %d, %.1f s in all\n",
             r.ledger_balanced ? "balanced" : "NOT balanced", r.gateway_exit_code, r.total_seconds);
  for (const StormCheck& c : r.checks) {
    out += Fmt("  %s  %s: %s\n", c.passed ? "PASS" : "FAIL", c.name.c_str(), c.detail.c_str());
  }
  return out;
}

std::string StormSamplesTsv(const std::vector<StormSample>& samples) {
  std::string out =
      "t_s\toffered_eps\taccepted_eps\tdelivered_eps\tused_bytes\tbudget_bytes\trss_bytes\t"
      "on_disk_events\tbacklog_events\tcritical_max_ms\n";
  for (const StormSample& s : samples) {
    out += Fmt("%.3f\t%.0f\t%.0f\t%.0f\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64
               "\t%" PRIu64 "\t%.3f\n",
               s.t_s, s.offered_eps, s.accepted_eps, s.delivered_eps, s.used_bytes, s.budget_bytes,
               s.rss_bytes, s.on_disk_events, s.backlog_events, s.critical_max_ms);
  }
  return out;
}

std::string StormPlotScript(const StormReport& r, const std::string& tsv, const std::string& png) {
  std::string s;
  s += "set terminal pngcairo size 1200,1500 font 'sans,10'\n";
  s += "set output '" + png + "'\n";
  s += "set datafile separator '\\t'\n";
  s += "set key top right\nset grid\nset lmargin 12\n";
  s += Fmt("set multiplot layout 4,1 title \"gridgate-load %s: %s\\n%" PRIu64 " offered, %" PRIu64
           " delivered, %" PRIu64 " lost; critical p99 %.1f ms\"\n",
           r.scenario.c_str(), r.profile.c_str(), r.offered, r.delivered, r.lost,
           r.latency[0].p99_ms);
  s += "set xlabel ''\n";
  s += "set ylabel 'events/s'\nset format y '%.0s%c'\n";
  s += "plot '" + tsv +
       "' using 1:2 skip 1 with lines lw 1.5 title 'offered (sender)', '' using 1:3 skip 1 with "
       "lines lw 1.5 title 'in (gateway accepted)', '' using 1:4 skip 1 with lines lw 1.5 "
       "title 'out (sink received)'\n";
  s += "set ylabel 'MiB'\nset format y '%g'\n";
  s += "plot '" + tsv +
       "' using 1:($5/1048576) skip 1 with lines lw 1.5 title 'event buffers used', '' using "
       "1:($6/1048576) skip 1 with lines dt 2 lw 1.5 title 'budget', '' using 1:($7/1048576) "
       "skip 1 with lines lw 1.5 title 'gateway RSS'\n";
  s += "set ylabel 'events'\nset format y '%.0s%c'\n";
  s += "plot '" + tsv +
       "' using 1:8 skip 1 with lines lw 1.5 title 'events on disk', '' using 1:9 skip 1 with "
       "lines lw 1.5 title 'backlog (queued + on disk + in flight)'\n";
  s += "set ylabel 'ms'\nset format y '%g'\nset xlabel 'seconds since the sender started'\n";
  s += "set logscale y\n";
  s += "plot '" + tsv +
       "' using 1:($10 > 0 ? $10 : 1/0) skip 1 with points pt 7 ps 0.4 title 'critical "
       "latency, slowest per 100 ms', 100 with lines dt 2 title '100 ms goal'\n";
  s += "unset multiplot\n";
  return s;
}

}  // namespace gridgate::load
