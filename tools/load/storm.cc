#include "tools/load/storm.h"

#include <fcntl.h>
#include <signal.h>
#include <simdjson.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "common/mutex.h"
#include "tools/load/http_client.h"

extern char** environ;

namespace gridgate::load {
namespace {

namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;

double SecondsBetween(Steady::time_point a, Steady::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// What one GET of /api/v1/gateway/backpressure says (the fields we use).
struct GatewayFigures {
  uint64_t budget_bytes = 0;
  uint64_t used_bytes = 0;
  uint64_t peak_used_bytes = 0;
  uint64_t accepted = 0;
  uint64_t queued = 0;
  uint64_t on_disk = 0;
  uint64_t in_flight = 0;
  uint64_t delivered = 0;
  uint64_t lost = 0;
  uint64_t spilled = 0;
  uint64_t drained = 0;
  bool balanced = false;
  // The gateway's own ingest-to-ack latency per level (null until delivered).
  std::array<double, kNumPriorities> p50_ms{};
  std::array<double, kNumPriorities> p99_ms{};

  uint64_t backlog() const { return queued + on_disk + in_flight; }
};

Result<GatewayFigures> ParseFigures(const std::string& body) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(body).get(doc) != simdjson::SUCCESS) {
    return Status::IoError("the backpressure endpoint did not answer JSON");
  }
  GatewayFigures f;
  bool ok = doc["memory"]["budget_bytes"].get(f.budget_bytes) == simdjson::SUCCESS &&
            doc["memory"]["used_bytes"].get(f.used_bytes) == simdjson::SUCCESS &&
            doc["memory"]["peak_used_bytes"].get(f.peak_used_bytes) == simdjson::SUCCESS &&
            doc["ledger"]["accepted"].get(f.accepted) == simdjson::SUCCESS &&
            doc["ledger"]["queued"].get(f.queued) == simdjson::SUCCESS &&
            doc["ledger"]["on_disk"].get(f.on_disk) == simdjson::SUCCESS &&
            doc["ledger"]["in_flight"].get(f.in_flight) == simdjson::SUCCESS &&
            doc["ledger"]["delivered"].get(f.delivered) == simdjson::SUCCESS &&
            doc["ledger"]["lost"].get(f.lost) == simdjson::SUCCESS &&
            doc["ledger"]["balanced"].get(f.balanced) == simdjson::SUCCESS &&
            doc["spill"]["spilled"].get(f.spilled) == simdjson::SUCCESS &&
            doc["spill"]["drained"].get(f.drained) == simdjson::SUCCESS;
  if (!ok) {
    return Status::IoError("the backpressure document lacks a field the storm reads");
  }
  for (Priority p : kAllPriorities) {
    simdjson::dom::element level = doc["levels"][PriorityName(p)];
    (void)level["latency_p50_ms"].get(f.p50_ms[LevelIndex(p)]);
    (void)level["latency_p99_ms"].get(f.p99_ms[LevelIndex(p)]);
  }
  return f;
}

uint64_t RssBytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::strtoull(line.c_str() + 6, nullptr, 10) * 1024;
    }
  }
  return 0;
}

std::string DefaultGridgatePath() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "gridgate" : (self.parent_path() / "gridgate").string();
}

bool WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  return static_cast<bool>(out);
}

// The gateway as a child process.
class GatewayProcess {
 public:
  ~GatewayProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  Status Spawn(const std::string& binary, const std::vector<std::string>& args,
               const fs::path& log) {
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(binary.c_str()));
    for (const std::string& a : args) {
      argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    const int rc = posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      pid_ = -1;
      return Status::IoError("cannot start " + binary + ": " + std::strerror(rc));
    }
    return Status::Ok();
  }

  pid_t pid() const { return pid_; }

  // The exit code, or -1 when it has not exited.
  int Poll() {
    if (pid_ <= 0) {
      return exit_code_;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    return exit_code_;
  }

  // SIGTERM, then SIGKILL after `grace`. The exit code (128 + signal when killed).
  int Stop(std::chrono::seconds grace) {
    if (pid_ <= 0) {
      return exit_code_;
    }
    kill(pid_, SIGTERM);
    const auto deadline = Steady::now() + grace;
    while (Poll() < 0 && Steady::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
      pid_ = -1;
      exit_code_ = 128 + SIGKILL;
    }
    return exit_code_;
  }

 private:
  pid_t pid_ = -1;
  int exit_code_ = -1;
};

struct Ports {
  uint16_t http = 0;
  uint16_t tcp = 0;
  uint16_t admin = 0;
};

Result<Ports> WaitForPorts(const fs::path& file, GatewayProcess* gateway, const fs::path& log) {
  const auto deadline = Steady::now() + std::chrono::seconds(60);
  while (Steady::now() < deadline) {
    if (gateway->Poll() >= 0) {
      return Status::IoError("gridgate exited with code " + std::to_string(gateway->Poll()) +
                             " before listening; see " + log.string());
    }
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    uint64_t http = 0;
    uint64_t tcp = 0;
    uint64_t admin = 0;
    const std::string body = text.str();
    if (!body.empty() && parser.parse(body).get(doc) == simdjson::SUCCESS &&
        doc["http"].get(http) == simdjson::SUCCESS && doc["tcp"].get(tcp) == simdjson::SUCCESS &&
        doc["admin"].get(admin) == simdjson::SUCCESS) {
      return Ports{static_cast<uint16_t>(http), static_cast<uint16_t>(tcp),
                   static_cast<uint16_t>(admin)};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::IoError("gridgate did not write " + file.string() + " within 60 s");
}

// One raw sample: counters, turned into rates afterwards.
struct RawSample {
  Steady::time_point at;
  uint64_t offered = 0;
  GatewayFigures gateway;
  uint64_t rss_bytes = 0;
};

// The highest rate over any window of about one second of `points` (time in
// seconds, cumulative count).
double PeakOneSecondRate(const std::vector<std::pair<double, uint64_t>>& points) {
  double peak = 0;
  size_t j = 0;
  for (size_t i = 0; i < points.size(); ++i) {
    while (j < i && points[i].first - points[j + 1].first >= 1.0) {
      ++j;
    }
    const double dt = points[i].first - points[j].first;
    if (dt >= 0.95) {
      peak = std::max(peak, static_cast<double>(points[i].second - points[j].second) / dt);
    }
  }
  return peak;
}

std::string Mib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

}  // namespace

StormOptions StormOptions::Storm() {
  StormOptions o;
  o.scenario = "storm";
  o.out_dir = "var/storm";
  o.sender.profile = RateProfile::Storm();
  o.sender.mix = Mix::Storm();
  o.sink.cap_events_per_second = 100'000;
  o.max_critical_p99_ms = 100;
  o.expect_spill = true;
  return o;
}

StormOptions StormOptions::Steady() {
  StormOptions o;
  o.scenario = "steady";
  o.out_dir = "var/steady";
  o.sender.profile = RateProfile::Steady(10'000, 60);
  o.sender.mix = Mix::Everyday();
  o.sink.cap_events_per_second = 0;
  o.max_critical_p99_ms = 0;  // every level's p99 is checked, critical included
  o.max_any_p99_ms = 10;
  return o;
}

Result<StormReport> RunStorm(const StormOptions& options) {
  const auto run_start = Steady::now();
  const fs::path out = options.out_dir;
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) {
    return Status::IoError("cannot create " + out.string() + ": " + ec.message());
  }
  const fs::path spill_dir = out / "spill";
  fs::remove_all(spill_dir, ec);
  for (const std::string& stale :
       {std::string("report.json"), std::string("samples.tsv"), std::string("plot.gp"),
        std::string("ports.json"), options.scenario + ".png"}) {
    fs::remove(out / stale, ec);
  }

  // The sink first: the gateway needs its port.
  auto sink = SinkServer::Create(options.sink);
  if (!sink.ok()) {
    return sink.status();
  }
  if (Status s = (*sink)->Start(); !s.ok()) {
    return s;
  }
  const auto sink_start = Steady::now();

  const std::string binary =
      options.gridgate_path.empty() ? DefaultGridgatePath() : options.gridgate_path;
  std::vector<std::string> args = {
      "--ports-file",
      (out / "ports.json").string(),
      "--set",
      "http.listen=127.0.0.1:0",
      "--set",
      "tcp.listen=127.0.0.1:0",
      "--set",
      "admin.listen=127.0.0.1:0",
      "--set",
      "spill.dir=" + spill_dir.string(),
      "--set",
      "sink.type=http",
      "--set",
      "sink.http.url=http://127.0.0.1:" + std::to_string((*sink)->port()) + options.sink.path,
      "--set",
      "memory.budget_bytes=" + std::to_string(options.budget_bytes),
  };
  for (const std::string& s : options.gateway_sets) {
    args.push_back("--set");
    args.push_back(s);
  }
  const fs::path log = out / "gridgate.log";
  GatewayProcess gateway;
  if (Status s = gateway.Spawn(binary, args, log); !s.ok()) {
    return s;
  }
  auto ports = WaitForPorts(out / "ports.json", &gateway, log);
  if (!ports.ok()) {
    return ports.status();
  }
  std::fprintf(stderr, "storm: gridgate pid %d (log %s), sink on port %u\n", gateway.pid(),
               log.c_str(), (*sink)->port());

  SenderOptions sender_options = options.sender;
  sender_options.host = "127.0.0.1";
  sender_options.port = sender_options.transport == Transport::kTcp ? ports->tcp : ports->http;
  auto sender = Sender::Create(sender_options);
  if (!sender.ok()) {
    return sender.status();
  }

  // The sampler: every sample_ms, the backpressure figures, the RSS and the
  // sender's count.
  HttpClient admin("127.0.0.1", ports->admin, 10'000);
  std::vector<RawSample> samples;
  auto take_sample = [&]() -> Status {
    RawSample s;
    s.at = Steady::now();
    s.offered = (*sender)->Progress().offered;
    auto reply = admin.Get("/api/v1/gateway/backpressure");
    if (!reply.ok()) {
      return reply.status();
    }
    auto figures = ParseFigures(reply->body);
    if (!figures.ok()) {
      return figures.status();
    }
    s.gateway = *figures;
    s.rss_bytes = RssBytes(gateway.pid());
    samples.push_back(s);
    return Status::Ok();
  };
  if (Status s = take_sample(); !s.ok()) {
    return s;
  }
  const uint64_t start_rss = samples.back().rss_bytes;

  std::fprintf(stderr, "storm: %s\nstorm: mix %s, canary %.0f/s, sink cap %.0f/s, budget %s\n",
               sender_options.profile.Describe().c_str(), sender_options.mix.Describe().c_str(),
               sender_options.canary_eps, options.sink.cap_events_per_second,
               Mib(options.budget_bytes).c_str());

  const auto t0 = Steady::now();
  Status send_status = Status::Ok();
  std::atomic<bool> send_done{false};
  std::thread send_thread([&] {
    send_status = (*sender)->Run();
    send_done = true;
  });

  const auto period = std::chrono::milliseconds(options.sample_ms);
  auto next = Steady::now();
  auto last_print = Steady::now();
  std::optional<Steady::time_point> drained_at;
  Status sample_status = Status::Ok();
  while (true) {
    next += period;
    std::this_thread::sleep_until(next);
    sample_status = take_sample();
    if (!sample_status.ok()) {
      (*sender)->Cancel();
      break;
    }
    if (gateway.Poll() >= 0) {
      (*sender)->Cancel();
      sample_status =
          Status::IoError("gridgate exited with code " + std::to_string(gateway.Poll()) +
                          " during the run; see " + log.string());
      break;
    }
    const RawSample& s = samples.back();
    if (Steady::now() - last_print >= std::chrono::seconds(2)) {
      last_print = Steady::now();
      std::fprintf(stderr,
                   "storm: t=%5.1fs offered %" PRIu64 " accepted %" PRIu64 " delivered %" PRIu64
                   " backlog %" PRIu64 " (on disk %" PRIu64 ") buffers %s rss %s\n",
                   SecondsBetween(t0, s.at), s.offered, s.gateway.accepted, s.gateway.delivered,
                   s.gateway.backlog(), s.gateway.on_disk, Mib(s.gateway.used_bytes).c_str(),
                   Mib(s.rss_bytes).c_str());
    }
    if (!drained_at) {
      if (send_done && s.gateway.backlog() == 0) {
        drained_at = s.at;
        std::fprintf(stderr, "storm: backlog empty at t=%.1fs; %.0f s of quiet\n",
                     SecondsBetween(t0, s.at), options.quiet_seconds);
      } else if (SecondsBetween(t0, s.at) >
                 sender_options.profile.DurationSeconds() + options.drain_timeout_seconds) {
        (*sender)->Cancel();
        std::fprintf(stderr, "storm: gave up waiting for the backlog to drain\n");
        break;
      }
    } else if (SecondsBetween(*drained_at, s.at) >= options.quiet_seconds) {
      break;
    }
  }
  send_thread.join();
  (*sender)->Cancel();
  const int exit_code = gateway.Stop(std::chrono::seconds(60));
  (*sink)->Stop();
  if (!send_status.ok()) {
    return send_status;
  }
  if (!sample_status.ok()) {
    return sample_status;
  }

  // The report.
  const SenderResult sent = (*sender)->result();
  const SinkSnapshot arrived = (*sink)->Snapshot();
  const GatewayFigures& last = samples.back().gateway;
  StormReport r;
  r.scenario = options.scenario;
  r.profile = sender_options.profile.Describe();
  r.mix = sender_options.mix.Describe() +
          (sender_options.canary_eps > 0
               ? " + " + std::to_string(static_cast<int>(sender_options.canary_eps)) + " canaries/s"
               : "");
  r.transport = sender_options.transport == Transport::kTcp ? "tcp" : "http";
  r.transport += ", " + std::to_string(sender_options.connections) + " connections";
  r.offered = sent.totals.offered;
  r.canary_offered = sent.canary_offered;
  r.accepted = sent.totals.accepted;
  r.refused = sent.totals.refused;
  r.resent = sent.totals.resent;
  r.unresolved = sent.unresolved;
  r.delivered = arrived.unique;
  r.lost = (*sink)->CountLost((*sender)->accepted());
  r.duplicated = arrived.duplicates;
  r.sink_failed_requests = arrived.failed_requests;
  for (size_t i = 0; i < kNumPriorities; ++i) {
    r.latency[i] = LatencySummary::Of(arrived.latency_us[i]);
    r.gateway_latency_p50_ms[i] = last.p50_ms[i];
    r.gateway_latency_p99_ms[i] = last.p99_ms[i];
  }
  r.canary_latency = LatencySummary::Of(arrived.canary_latency_us);
  r.budget_bytes = last.budget_bytes;
  r.peak_buffer_bytes = last.peak_used_bytes;
  r.start_rss_bytes = start_rss;
  r.end_rss_bytes = samples.back().rss_bytes;
  r.spilled = last.spilled;
  r.drained = last.drained;
  r.ledger_balanced = last.balanced;
  r.gateway_lost_corrupt = last.lost;
  r.gateway_exit_code = exit_code;
  r.target_peak_eps =
      std::max(sender_options.profile.peak_eps, sender_options.profile.baseline_eps) +
      sender_options.canary_eps;
  r.offered_eps = sent.peak_offered_eps;
  r.send_seconds = static_cast<double>(sent.end_unix_us - sent.start_unix_us) / 1e6;
  if (drained_at && sent.profile_end_unix_us > 0) {
    // The sender's clock is the wall clock; the sampler's is steady: both
    // measured from the sender's start.
    const double profile_end_s =
        static_cast<double>(sent.profile_end_unix_us - sent.start_unix_us) / 1e6;
    r.drain_seconds = std::max(0.0, SecondsBetween(t0, *drained_at) - profile_end_s);
  }

  // The time series.
  std::vector<StormSample> series;
  std::vector<std::pair<double, uint64_t>> accepted_points;
  for (size_t i = 0; i < samples.size(); ++i) {
    const RawSample& s = samples[i];
    StormSample out;
    out.t_s = SecondsBetween(t0, s.at);
    if (i > 0) {
      const double dt = SecondsBetween(samples[i - 1].at, s.at);
      if (dt > 0) {
        out.offered_eps = static_cast<double>(s.offered - samples[i - 1].offered) / dt;
        out.accepted_eps =
            static_cast<double>(s.gateway.accepted - samples[i - 1].gateway.accepted) / dt;
      }
    }
    out.used_bytes = s.gateway.used_bytes;
    out.budget_bytes = s.gateway.budget_bytes;
    out.rss_bytes = s.rss_bytes;
    out.on_disk_events = s.gateway.on_disk;
    out.backlog_events = s.gateway.backlog();
    r.peak_rss_bytes = std::max(r.peak_rss_bytes, s.rss_bytes);
    r.peak_on_disk_events = std::max(r.peak_on_disk_events, s.gateway.on_disk);
    r.peak_backlog_events = std::max(r.peak_backlog_events, s.gateway.backlog());
    accepted_points.emplace_back(out.t_s, s.gateway.accepted);
    series.push_back(out);
  }
  r.achieved_eps = PeakOneSecondRate(accepted_points);
  // How the sender kept up with the profile: its lag behind it, and the mean
  // rate at which the hold's events went out (the profile's peak when it kept
  // pace).
  {
    const RateProfile& profile = sender_options.profile;
    const double duration = profile.DurationSeconds();
    auto time_of = [&profile, duration](double events) {  // inverse of EventsBy
      double lo = 0;
      double hi = duration;
      for (int i = 0; i < 60; ++i) {
        const double mid = (lo + hi) / 2;
        (profile.EventsBy(mid) < events ? lo : hi) = mid;
      }
      return hi;
    };
    const double hold_from = profile.EventsBy(profile.lead_seconds + profile.ramp_seconds);
    const double hold_to =
        profile.EventsBy(profile.lead_seconds + profile.ramp_seconds + profile.hold_seconds);
    std::optional<double> t_from, t_to;
    for (const RawSample& s : samples) {
      const double t = SecondsBetween(t0, s.at);
      const double canaries = std::floor(sender_options.canary_eps * std::min(t, duration));
      const double fresh = std::max(0.0, static_cast<double>(s.offered) - canaries);
      if (t <= duration + 1) {
        r.max_lag_seconds = std::max(r.max_lag_seconds, std::min(t, duration) - time_of(fresh));
      }
      if (!t_from && fresh >= hold_from) {
        t_from = t;
      }
      if (!t_to && fresh >= hold_to) {
        t_to = t;
      }
    }
    if (profile.peak_eps > 0 && profile.hold_seconds > 0 && t_from && t_to && *t_to > *t_from) {
      r.hold_offered_eps = (hold_to - hold_from) / (*t_to - *t_from);
    }
  }
  // The sink's intervals, placed on the sampler's time axis.
  const double sink_offset_s = SecondsBetween(t0, sink_start);
  std::vector<std::pair<double, uint64_t>> delivered_points;
  uint64_t delivered_total = 0;
  for (const SinkInterval& iv : (*sink)->Series()) {
    const double t = sink_offset_s + static_cast<double>(iv.start_ms) / 1000;
    delivered_total += iv.events;
    delivered_points.emplace_back(t + static_cast<double>(options.sink.interval_ms) / 1000,
                                  delivered_total);
    const auto it =
        std::lower_bound(series.begin(), series.end(), t,
                         [](const StormSample& s, double value) { return s.t_s < value; });
    if (it != series.end()) {
      it->delivered_eps +=
          static_cast<double>(iv.events) * 1000 / static_cast<double>(options.sample_ms);
      it->critical_max_ms =
          std::max(it->critical_max_ms, static_cast<double>(iv.critical_max_us) / 1000);
    }
  }
  r.delivered_eps = PeakOneSecondRate(delivered_points);
  r.total_seconds = SecondsBetween(run_start, Steady::now());

  // The expectations.
  auto check = [&r](std::string name, bool passed, std::string detail) {
    r.checks.push_back(StormCheck{std::move(name), passed, std::move(detail)});
  };
  check("nothing lost",
        r.lost == 0 && r.unresolved == 0 && sent.refused_final == 0 && r.gateway_lost_corrupt == 0,
        std::to_string(r.lost) + " lost at the sink, " + std::to_string(r.unresolved) +
            " unresolved at the sender, " + std::to_string(sent.refused_final) +
            " refused for good, " + std::to_string(r.gateway_lost_corrupt) + " lost on disk");
  check("every offered event accepted", r.accepted == r.offered,
        std::to_string(r.accepted) + " of " + std::to_string(r.offered));
  check("ledger balanced and empty", r.ledger_balanced && last.backlog() == 0,
        std::string(r.ledger_balanced ? "balanced" : "not balanced") + ", backlog " +
            std::to_string(last.backlog()));
  check("event buffers within the budget", r.peak_buffer_bytes <= r.budget_bytes,
        "peak " + Mib(r.peak_buffer_bytes) + " of " + Mib(r.budget_bytes));
  if (options.rss_slack_bytes > 0) {
    check("RSS back near its start after the quiet period",
          r.end_rss_bytes <= r.start_rss_bytes + options.rss_slack_bytes,
          "start " + Mib(r.start_rss_bytes) + ", peak " + Mib(r.peak_rss_bytes) + ", end " +
              Mib(r.end_rss_bytes) + " (slack " + Mib(options.rss_slack_bytes) + ")");
  }
  char buf[160];
  if (options.max_critical_p99_ms > 0) {
    std::snprintf(buf, sizeof(buf), "%.2f ms (limit %.0f ms), %" PRIu64 " critical events",
                  r.latency[0].p99_ms, options.max_critical_p99_ms, r.latency[0].count);
    check("critical p99",
          r.latency[0].count > 0 && r.latency[0].p99_ms < options.max_critical_p99_ms, buf);
  }
  if (options.max_any_p99_ms > 0) {
    for (Priority p : kAllPriorities) {
      const LatencySummary& l = r.latency[LevelIndex(p)];
      std::snprintf(buf, sizeof(buf), "%.2f ms (limit %.0f ms), %" PRIu64 " events", l.p99_ms,
                    options.max_any_p99_ms, l.count);
      check(std::string(PriorityName(p)) + " p99", l.p99_ms < options.max_any_p99_ms, buf);
    }
  }
  if (options.expect_spill) {
    check("the overflow reached the disk and came back", r.spilled > 0 && r.drained > 0,
          std::to_string(r.spilled) + " spilled, " + std::to_string(r.drained) + " drained");
  }
  check("gridgate stopped cleanly on SIGTERM", exit_code == 0,
        "exit code " + std::to_string(exit_code));

  // The files.
  const fs::path tsv = out / "samples.tsv";
  const fs::path gp = out / "plot.gp";
  const fs::path png = out / (options.scenario + ".png");
  if (!WriteFile(out / "report.json", StormReportJson(r)) ||
      !WriteFile(tsv, StormSamplesTsv(series)) ||
      !WriteFile(gp, StormPlotScript(r, tsv.string(), png.string()))) {
    return Status::IoError("cannot write the report under " + out.string());
  }
  const std::string plot = "gnuplot " + gp.string() + " 2>" + (out / "gnuplot.log").string();
  if (std::system(plot.c_str()) != 0) {
    std::fprintf(stderr,
                 "storm: gnuplot failed (is it installed? scripts/bootstrap installs "
                 "it); see %s\n",
                 (out / "gnuplot.log").c_str());
  }
  return r;
}

}  // namespace gridgate::load
