#include "tools/load/sink/sink_server.h"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
#include <system_error>
#include <utility>

namespace gridgate::load {
namespace {

using ingest::http::HttpReply;
using ingest::http::HttpRequest;

// The gateway posts batches of up to 16 MiB; leave room above that.
constexpr size_t kMaxBodyBytes = size_t{32} << 20;

// The cap lets through at most this much time's worth of events at once.
constexpr int64_t kCapBurstNs = 10'000'000;

// A cap wait re-reads the clock at least this often, so that a fake clock
// moved by a test is noticed.
constexpr int64_t kMaxWaitSliceNs = 50'000'000;

constexpr int64_t kNsPerMs = 1'000'000;

// Skips the spaces after a key's colon.
size_t SkipSpaces(std::string_view text, size_t pos) {
  while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) {
    ++pos;
  }
  return pos;
}

}  // namespace

std::optional<uint64_t> ScanUintAfter(std::string_view line, std::string_view key) {
  const size_t at = line.find(key);
  if (at == std::string_view::npos) {
    return std::nullopt;
  }
  const size_t pos = SkipSpaces(line, at + key.size());
  uint64_t value = 0;
  const char* first = line.data() + pos;
  const char* last = line.data() + line.size();
  const auto [end, ec] = std::from_chars(first, last, value);
  if (ec != std::errc() || end == first) {
    return std::nullopt;
  }
  return value;
}

namespace {

std::optional<Priority> PriorityAfter(std::string_view line, std::string_view key) {
  const size_t at = line.find(key);
  if (at == std::string_view::npos) {
    return std::nullopt;
  }
  const size_t open = SkipSpaces(line, at + key.size());
  if (open >= line.size() || line[open] != '"') {
    return std::nullopt;
  }
  const size_t close = line.find('"', open + 1);
  if (close == std::string_view::npos) {
    return std::nullopt;
  }
  return ParsePriority(line.substr(open + 1, close - open - 1));
}

bool IsBlank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

bool IsFiniteNonNegative(double x) { return std::isfinite(x) && x >= 0; }

}  // namespace

std::optional<SinkLine> ScanSinkLine(std::string_view line) {
  const std::optional<Priority> priority = PriorityAfter(line, "\"gateway_priority\":");
  const std::optional<uint64_t> seq = ScanUintAfter(line, "\"source_seq\":");
  const std::optional<uint64_t> sent = ScanUintAfter(line, "\"load_sent_us\":");
  if (!priority || !seq || !sent ||
      *sent > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return std::nullopt;
  }
  // Canaries are critical: other lines need no scan for their source.
  return SinkLine{
      *priority, *seq, static_cast<int64_t>(*sent),
      *priority == Priority::kCritical && line.find(kCanarySourceField) != std::string_view::npos};
}

Result<std::unique_ptr<SinkServer>> SinkServer::Create(const SinkOptions& options, Clock* clock) {
  if (!IsFiniteNonNegative(options.cap_events_per_second)) {
    return Status::InvalidArgument("cap_events_per_second must be a number >= 0 (0: uncapped)");
  }
  if (!IsFiniteNonNegative(options.fail_after_seconds)) {
    return Status::InvalidArgument("fail_after_seconds must be a number >= 0");
  }
  if (!IsFiniteNonNegative(options.fail_for_seconds)) {
    return Status::InvalidArgument("fail_for_seconds must be a number >= 0 (0: never fail)");
  }
  if (options.interval_ms <= 0) {
    return Status::InvalidArgument("interval_ms must be > 0");
  }
  if (options.path.empty() || options.path[0] != '/') {
    return Status::InvalidArgument("path must start with '/', not '" + options.path + "'");
  }
  auto io = std::make_unique<boost::asio::io_context>(1);
  auto sink = std::unique_ptr<SinkServer>(new SinkServer(options, clock, std::move(io)));

  ingest::http::HttpServerOptions http;
  http.host = options.host;
  http.port = options.port;
  http.max_body_bytes = kMaxBodyBytes;
  auto server = ingest::http::HttpServer::Create(sink->io_.get(), http);
  if (!server.ok()) {
    return server.status();
  }
  sink->server_ = std::move(server).value();
  SinkServer* self = sink.get();
  sink->server_->Route("POST", options.path,
                       [self](const HttpRequest& request) { return self->Handle(request); });
  return sink;
}

SinkServer::SinkServer(const SinkOptions& options, Clock* clock,
                       std::unique_ptr<boost::asio::io_context> io)
    : options_(options), clock_(clock), io_(std::move(io)) {}

SinkServer::~SinkServer() { Stop(); }

Status SinkServer::Start() {
  MutexLock lock(&mu_);
  if (started_ || stopping_) {
    return Status::InvalidArgument("the sink was started or stopped before");
  }
  start_mono_ns_.store(clock_->MonotonicNs(), std::memory_order_relaxed);
  server_->Start();
  try {
    thread_ = std::thread([this] { io_->run(); });
  } catch (const std::system_error& e) {
    return Status::IoError(std::string("cannot start the sink's thread: ") + e.what());
  }
  started_ = true;
  return Status::Ok();
}

void SinkServer::Stop() {
  {
    MutexLock lock(&mu_);
    if (stopping_) {
      return;
    }
    stopping_ = true;
    stop_mono_ns_ = clock_->MonotonicNs();
  }
  stop_cv_.NotifyAll();
  if (server_ != nullptr) {  // null only when Create() failed to bind
    server_->Stop();
  }
  if (thread_.joinable()) {
    thread_.join();  // run() returns once the listener and every connection closed
  }
}

uint16_t SinkServer::port() const { return server_->port(); }

bool SinkServer::InFailureWindow(int64_t mono_ns) const {
  if (options_.fail_for_seconds <= 0) {
    return false;
  }
  const double since_start_s =
      static_cast<double>(mono_ns - start_mono_ns_.load(std::memory_order_relaxed)) / 1e9;
  return since_start_s >= options_.fail_after_seconds &&
         since_start_s < options_.fail_after_seconds + options_.fail_for_seconds;
}

size_t SinkServer::IntervalOf(int64_t mono_ns) const {
  const int64_t since_start = mono_ns - start_mono_ns_.load(std::memory_order_relaxed);
  return static_cast<size_t>(std::max<int64_t>(since_start, 0) / (options_.interval_ms * kNsPerMs));
}

HttpReply SinkServer::Handle(const HttpRequest& request) {
  const int64_t arrival_unix_us = clock_->UnixNs() / 1000;
  const int64_t arrival_mono_ns = clock_->MonotonicNs();

  if (InFailureWindow(arrival_mono_ns)) {
    MutexLock lock(&mu_);
    ++stats_.requests;
    ++stats_.failed_requests;
    return ingest::http::JsonError(503, "the load sink is failing on purpose (fail window)");
  }

  // Scan without the lock, so that Snapshot() readers wait only for the
  // recording below.
  scratch_.clear();
  scratch_unparsed_ = 0;
  std::string_view body = request.body;
  while (!body.empty()) {
    const size_t eol = body.find('\n');
    const std::string_view line = body.substr(0, eol);
    body = eol == std::string_view::npos ? std::string_view() : body.substr(eol + 1);
    if (IsBlank(line)) {
      continue;
    }
    const std::optional<SinkLine> parsed = ScanSinkLine(line);
    // A sequence number past kMaxSeq is not ours; it must not size the bitmap.
    if (parsed && parsed->source_seq < SeqTracker::kMaxSeq) {
      scratch_.push_back(*parsed);
    } else {
      ++scratch_unparsed_;
    }
  }
  const uint64_t lines = scratch_.size() + scratch_unparsed_;

  MutexLock lock(&mu_);
  ++stats_.requests;
  RecordLocked(arrival_unix_us, arrival_mono_ns);
  if (options_.cap_events_per_second > 0 && !WaitForCapLocked(lines, arrival_mono_ns)) {
    return ingest::http::JsonError(503, "the load sink is stopping");
  }
  HttpReply reply;
  reply.body = "{\"received\":" + std::to_string(lines) + "}";
  return reply;
}

void SinkServer::RecordLocked(int64_t arrival_unix_us, int64_t arrival_mono_ns) {
  stats_.unparsed_lines += scratch_unparsed_;
  if (scratch_.empty()) {
    return;
  }
  const size_t interval = IntervalOf(arrival_mono_ns);
  if (interval >= series_.size()) {
    const size_t old_size = series_.size();
    series_.resize(interval + 1);
    for (size_t i = old_size; i < series_.size(); ++i) {
      series_[i].start_ms = static_cast<int64_t>(i) * options_.interval_ms;
    }
  }
  SinkInterval& slot = series_[interval];
  for (const SinkLine& line : scratch_) {
    const int64_t latency_us = std::max<int64_t>(arrival_unix_us - line.load_sent_us, 0);
    const size_t level = LevelIndex(line.priority);
    stats_.latency_us[level].Record(latency_us);
    if (line.canary) {
      stats_.canary_latency_us.Record(latency_us);
    }
    ++stats_.events_by_priority[level];
    (void)seqs_.Mark(line.source_seq);  // a repeat counts in seqs_.duplicates()
    if (line.priority == Priority::kCritical) {
      ++slot.critical_events;
      slot.critical_max_us = std::max(slot.critical_max_us, latency_us);
    }
  }
  slot.events += scratch_.size();
  stats_.events += scratch_.size();
  if (stats_.first_arrival_unix_us == 0) {
    stats_.first_arrival_unix_us = arrival_unix_us;
  }
  stats_.last_arrival_unix_us = arrival_unix_us;
}

bool SinkServer::WaitForCapLocked(uint64_t lines, int64_t arrival_mono_ns) {
  // The virtual clock runs at cap events per second; idle time banks at most
  // a burst's worth. Waiting until it catches up with real time keeps every
  // acknowledgement within allowed(t) = burst + cap·(t - first request), and
  // no wait is longer than this batch's own share of time.
  const int64_t earliest = arrival_mono_ns - kCapBurstNs;
  const auto batch_ns = static_cast<int64_t>(
      std::ceil(static_cast<double>(lines) * 1e9 / options_.cap_events_per_second));
  cap_allowed_at_ns_ = std::max(cap_allowed_at_ns_.value_or(earliest), earliest) + batch_ns;
  while (!stopping_) {
    const int64_t wait_ns = *cap_allowed_at_ns_ - clock_->MonotonicNs();
    if (wait_ns <= 0) {
      return true;
    }
    stop_cv_.WaitFor(&mu_, std::chrono::nanoseconds(std::min(wait_ns, kMaxWaitSliceNs)));
  }
  return false;
}

SinkSnapshot SinkServer::Snapshot() const {
  MutexLock lock(&mu_);
  SinkSnapshot snapshot = stats_;
  snapshot.unique = seqs_.unique();
  snapshot.duplicates = seqs_.duplicates();
  snapshot.seq_end = seqs_.end();
  return snapshot;
}

std::vector<SinkInterval> SinkServer::Series() const {
  const int64_t now_ns = clock_->MonotonicNs();
  MutexLock lock(&mu_);
  std::vector<SinkInterval> series = series_;
  if (!started_) {
    return series;
  }
  // Pad with the empty intervals since the last arrival, up to now (or the
  // stop).
  const size_t now_interval = IntervalOf(stop_mono_ns_.value_or(now_ns));
  for (size_t i = series.size(); i <= now_interval; ++i) {
    series.push_back(SinkInterval{static_cast<int64_t>(i) * options_.interval_ms, 0, 0, 0});
  }
  return series;
}

uint64_t SinkServer::CountLost(const SeqTracker& accepted) const {
  MutexLock lock(&mu_);
  return seqs_.CountMissing(accepted);
}

}  // namespace gridgate::load
