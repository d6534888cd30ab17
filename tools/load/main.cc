// gridgate-load: the storm benchmark. `send` offers a rate profile of
// generated events, `sink` receives what the gateway delivers, `storm` runs a
// whole scenario (gateway, sink, sender) and writes the report and the plot.

#include <signal.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <iostream>
#include <optional>
#include <thread>

#include "tools/load/sender.h"
#include "tools/load/sink/sink_server.h"
#include "tools/load/storm.h"
#include "tools/load/storm_report.h"

namespace {

using namespace gridgate;
using namespace gridgate::load;

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

// The profile and traffic flags shared by `send` and `storm`; unset ones keep
// the scenario's value.
struct TrafficFlags {
  std::optional<double> baseline_eps, peak_eps, lead_s, ramp_s, hold_s, decay_s, tail_s;
  std::optional<std::string> mix;
  std::optional<double> canary_eps;
  std::optional<int> connections;
  std::optional<uint64_t> fleet, seed;
  std::optional<size_t> window;
  bool http = false;

  void AddTo(CLI::App* app) {
    app->add_option("--baseline-eps", baseline_eps, "Baseline events/s");
    app->add_option("--peak-eps", peak_eps, "Storm peak events/s (0: steady at the baseline)");
    app->add_option("--lead-s", lead_s,
                    "Seconds at the baseline before the ramp (steady: the whole run)");
    app->add_option("--ramp-s", ramp_s, "Seconds of the linear ramp to the peak");
    app->add_option("--hold-s", hold_s, "Seconds held at the peak");
    app->add_option("--decay-s", decay_s, "Seconds of the exponential decay back to the baseline");
    app->add_option("--tail-s", tail_s, "Seconds at the baseline after the decay");
    app->add_option("--mix", mix,
                    "Shares of critical,high,normal,low, e.g. 0.7,17,25.5,56.7 (the storm mix)");
    app->add_option("--canary-eps", canary_eps,
                    "Critical over-voltage canaries per second on their own connection (0: none)");
    app->add_option("--connections", connections, "Connections carrying the profile");
    app->add_option("--fleet", fleet, "Meters in the simulated fleet");
    app->add_option("--seed", seed, "Seed of the event generator");
    app->add_option("--window", window,
                    "TCP: most events unacked on one connection before the sender waits (0: none)");
    app->add_flag("--http", http, "Send over HTTP (POST /api/v1/events) instead of TCP");
  }

  Status ApplyTo(SenderOptions* o) const {
    RateProfile& p = o->profile;
    if (baseline_eps) p.baseline_eps = *baseline_eps;
    if (peak_eps) p.peak_eps = *peak_eps;
    if (lead_s) p.lead_seconds = *lead_s;
    if (ramp_s) p.ramp_seconds = *ramp_s;
    if (hold_s) p.hold_seconds = *hold_s;
    if (decay_s) p.decay_seconds = *decay_s;
    if (tail_s) p.tail_seconds = *tail_s;
    if (mix) {
      auto parsed = Mix::Parse(*mix);
      if (!parsed.ok()) {
        return parsed.status();
      }
      o->mix = *parsed;
    }
    if (canary_eps) o->canary_eps = *canary_eps;
    if (connections) o->connections = *connections;
    if (fleet) o->fleet_size = *fleet;
    if (seed) o->seed = *seed;
    if (window) o->max_unacked_events = *window;
    if (http) o->transport = Transport::kHttp;
    return o->Validate();
  }
};

volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

std::string LatencyJson(const SinkSnapshot& s) {
  std::string out = "{";
  for (Priority p : kAllPriorities) {
    const LatencySummary l = LatencySummary::Of(s.latency_us[LevelIndex(p)]);
    char buf[200];
    std::snprintf(buf, sizeof(buf),
                  "%s\"%s\":{\"count\":%" PRIu64
                  ",\"p50\":%.3f,\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f}",
                  p == Priority::kCritical ? "" : ",", std::string(PriorityName(p)).c_str(),
                  l.count, l.p50_ms, l.p99_ms, l.p999_ms, l.max_ms);
    out += buf;
  }
  return out + "}";
}

int RunSend(const SenderOptions& options) {
  auto sender = Sender::Create(options);
  if (!sender.ok()) {
    std::cerr << "gridgate-load send: " << sender.status().message() << "\n";
    return kExitUsage;
  }
  std::cerr << "gridgate-load send: " << options.profile.Describe() << "; mix "
            << options.mix.Describe() << "\n";
  if (Status s = (*sender)->Run(); !s.ok()) {
    std::cerr << "gridgate-load send: " << s.message() << "\n";
    return kExitFailed;
  }
  const SenderResult r = (*sender)->result();
  std::printf("{\"offered\":%" PRIu64 ",\"canary_offered\":%" PRIu64 ",\"accepted\":%" PRIu64
              ",\"refused\":%" PRIu64 ",\"resent\":%" PRIu64 ",\"refused_final\":%" PRIu64
              ",\"unresolved\":%" PRIu64 ",\"reconnects\":%" PRIu64
              ",\"peak_offered_eps\":%.0f,\"seconds\":%.3f,\"seq_end\":%" PRIu64 "}\n",
              r.totals.offered, r.canary_offered, r.totals.accepted, r.totals.refused,
              r.totals.resent, r.refused_final, r.unresolved, r.reconnects, r.peak_offered_eps,
              static_cast<double>(r.end_unix_us - r.start_unix_us) / 1e6,
              options.first_seq + r.totals.offered);
  return r.unresolved == 0 && r.refused_final == 0 ? 0 : kExitFailed;
}

int RunSink(const SinkOptions& options, double duration_s, uint64_t expect) {
  auto sink = SinkServer::Create(options);
  if (!sink.ok()) {
    std::cerr << "gridgate-load sink: " << sink.status().message() << "\n";
    return kExitUsage;
  }
  if (Status s = (*sink)->Start(); !s.ok()) {
    std::cerr << "gridgate-load sink: " << s.message() << "\n";
    return kExitFailed;
  }
  std::cerr << "gridgate-load sink: listening on " << options.host << ":" << (*sink)->port()
            << options.path << " (Ctrl-C prints the summary)\n";
  signal(SIGINT, OnSignal);
  signal(SIGTERM, OnSignal);
  const auto start = std::chrono::steady_clock::now();
  while (!g_stop && (duration_s <= 0 || std::chrono::steady_clock::now() - start <
                                            std::chrono::duration<double>(duration_s))) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  (*sink)->Stop();
  const SinkSnapshot s = (*sink)->Snapshot();
  uint64_t lost = 0;
  if (expect > 0) {
    SeqTracker expected;
    for (uint64_t seq = 0; seq < expect; ++seq) {
      expected.Mark(seq);
    }
    lost = (*sink)->CountLost(expected);
  }
  std::printf("{\"requests\":%" PRIu64 ",\"failed_requests\":%" PRIu64 ",\"events\":%" PRIu64
              ",\"delivered\":%" PRIu64 ",\"duplicated\":%" PRIu64 ",\"unparsed_lines\":%" PRIu64
              ",\"expected\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"latency_ms\":%s}\n",
              s.requests, s.failed_requests, s.events, s.unique, s.duplicates, s.unparsed_lines,
              expect, lost, LatencyJson(s).c_str());
  return lost == 0 ? 0 : kExitFailed;
}

Status ParseListen(const std::string& listen, SinkOptions* o) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return Status::InvalidArgument("--listen: expected HOST:PORT, got '" + listen + "'");
  }
  o->host = listen.substr(0, colon);
  try {
    const int port = std::stoi(listen.substr(colon + 1));
    if (port < 0 || port > 65535) {
      throw std::out_of_range("port");
    }
    o->port = static_cast<uint16_t>(port);
  } catch (const std::exception&) {
    return Status::InvalidArgument("--listen: bad port in '" + listen + "'");
  }
  return Status::Ok();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("gridgate-load: the storm benchmark of gridgate", "gridgate-load");
  app.require_subcommand(1);

  // send
  CLI::App* send = app.add_subcommand("send", "Offer a rate profile of generated events");
  SenderOptions send_options;
  send_options.profile = RateProfile::Steady(10'000, 60);
  send_options.mix = Mix::Everyday();
  TrafficFlags send_flags;
  send_flags.AddTo(send);
  send->add_option("--host", send_options.host, "The gateway's address (numeric)");
  send->add_option("--port", send_options.port, "Its TCP ingest port (with --http: its HTTP port)");
  send->add_option("--first-seq", send_options.first_seq,
                   "The first sequence number (a second sender to one sink starts above the "
                   "first's last)");
  send->add_option("--settle-s", send_options.settle_seconds,
                   "After the profile, how long to wait for acks and resends");
  send->footer(
      "Defaults: 60 s at 10,000 events/s, the everyday mix (about 99% low), 100 canaries/s, "
      "4 TCP connections to 127.0.0.1:7070. Prints a JSON summary; exit 1 when an event was "
      "never accepted.");

  // sink
  CLI::App* sink = app.add_subcommand("sink", "Receive the gateway's webhook deliveries");
  SinkOptions sink_options;
  std::string listen = "127.0.0.1:9090";
  double duration_s = 0;
  uint64_t expect = 0;
  sink->add_option("--listen", listen, "HOST:PORT to listen on");
  sink->add_option("--path", sink_options.path, "The webhook path");
  sink->add_option("--cap-eps", sink_options.cap_events_per_second,
                   "Acknowledge at most this many events/s (0: uncapped)");
  sink->add_option("--fail-after-s", sink_options.fail_after_seconds,
                   "Answer 503 from this many seconds after start...");
  sink->add_option("--fail-for-s", sink_options.fail_for_seconds, "...for this long (0: never)");
  sink->add_option("--duration-s", duration_s, "Stop after this long (0: at Ctrl-C)");
  sink->add_option("--expect", expect,
                   "Events the sender offered (sequence 0..N-1): count the missing ones as lost");

  // storm
  CLI::App* storm = app.add_subcommand("storm", "Run a whole scenario: gateway, sink, sender");
  std::string scenario = "storm";
  std::optional<std::string> out_dir, gridgate_path;
  std::optional<uint64_t> budget_bytes;
  std::optional<double> sink_cap, sink_fail_after, sink_fail_for, quiet_s, max_critical_p99,
      max_p99, rss_slack_mib;
  std::optional<bool> expect_spill;
  std::vector<std::string> gateway_sets;
  TrafficFlags storm_flags;
  storm->add_option("--scenario", scenario, "storm (make storm) or steady (make steady)")
      ->check(CLI::IsMember({"storm", "steady"}));
  storm_flags.AddTo(storm);
  storm->add_option("--out", out_dir, "Directory for the report, plot and logs (var/SCENARIO)");
  storm->add_option("--gridgate", gridgate_path, "The gridgate binary (default: beside this one)");
  storm->add_option("--budget-bytes", budget_bytes, "The gateway's memory budget");
  storm->add_option("--sink-cap-eps", sink_cap, "The sink's rate cap (0: uncapped)");
  storm->add_option("--sink-fail-after-s", sink_fail_after, "The sink fails from then...");
  storm->add_option("--sink-fail-for-s", sink_fail_for, "...for this long");
  storm->add_option("--gateway-set", gateway_sets, "One more --set KEY=VALUE for gridgate");
  storm->add_option("--quiet-s", quiet_s, "Seconds sampled after the backlog is empty");
  storm->add_option("--max-critical-p99-ms", max_critical_p99, "Fail above this (0: unchecked)");
  storm->add_option("--max-p99-ms", max_p99, "Fail when any level's p99 is above (0: unchecked)");
  storm->add_option("--expect-spill", expect_spill,
                    "Fail unless part of the load spilled to disk (default: true for storm)");
  storm->add_option("--rss-slack-mib", rss_slack_mib,
                    "Fail when the end RSS exceeds the start RSS by more (0: unchecked)");
  storm->footer(
      "storm: 5 s at 10,000/s, 1 s ramp to 500,000/s, 10 s hold, 20 s decay; storm mix + 100 "
      "canaries/s; sink capped at 100,000/s; budget 512 MiB.\nsteady: 60 s at 10,000/s, the "
      "everyday mix, sink uncapped.\nWrites report.json, samples.tsv, plot.gp, SCENARIO.png and "
      "gridgate.log to --out; exit 1 when a check fails.");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }

  if (send->parsed()) {
    if (Status s = send_flags.ApplyTo(&send_options); !s.ok()) {
      std::cerr << "gridgate-load send: " << s.message() << "\n";
      return kExitUsage;
    }
    return RunSend(send_options);
  }
  if (sink->parsed()) {
    if (Status s = ParseListen(listen, &sink_options); !s.ok()) {
      std::cerr << "gridgate-load sink: " << s.message() << "\n";
      return kExitUsage;
    }
    return RunSink(sink_options, duration_s, expect);
  }

  StormOptions o = scenario == "steady" ? StormOptions::Steady() : StormOptions::Storm();
  if (Status s = storm_flags.ApplyTo(&o.sender); !s.ok()) {
    std::cerr << "gridgate-load storm: " << s.message() << "\n";
    return kExitUsage;
  }
  if (out_dir) o.out_dir = *out_dir;
  if (gridgate_path) o.gridgate_path = *gridgate_path;
  if (budget_bytes) o.budget_bytes = *budget_bytes;
  if (sink_cap) o.sink.cap_events_per_second = *sink_cap;
  if (sink_fail_after) o.sink.fail_after_seconds = *sink_fail_after;
  if (sink_fail_for) o.sink.fail_for_seconds = *sink_fail_for;
  if (quiet_s) o.quiet_seconds = *quiet_s;
  if (max_critical_p99) o.max_critical_p99_ms = *max_critical_p99;
  if (max_p99) o.max_any_p99_ms = *max_p99;
  if (expect_spill) o.expect_spill = *expect_spill;
  if (rss_slack_mib) o.rss_slack_bytes = static_cast<uint64_t>(*rss_slack_mib * (1 << 20));
  o.gateway_sets = gateway_sets;

  auto report = RunStorm(o);
  if (!report.ok()) {
    std::cerr << "gridgate-load storm: " << report.status().message() << "\n";
    return kExitFailed;
  }
  std::cout << StormReportText(*report);
  std::cout << "files: " << o.out_dir << "/report.json, " << o.out_dir << "/" << o.scenario
            << ".png, " << o.out_dir << "/gridgate.log\n";
  return report->Passed() ? 0 : kExitFailed;
}
