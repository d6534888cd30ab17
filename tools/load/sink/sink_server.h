#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/result.h"
#include "common/status.h"
#include "event/priority.h"
#include "ingest/http/http_server.h"
#include "tools/load/sink/hdr_histogram.h"
#include "tools/load/sink/seq_tracker.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace gridgate::load {

struct SinkOptions {
  // A numeric IPv4 or IPv6 address, and the port (0: the OS picks one).
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  // Acknowledge at most this many events per second on average, with a burst
  // of at most 10 ms worth; 0: uncapped.
  double cap_events_per_second = 0;
  // Answer 503 to every request from fail_after_seconds after Start() for
  // fail_for_seconds; fail_for_seconds 0: never.
  double fail_after_seconds = 0;
  double fail_for_seconds = 0;
  // The resolution of Series(), > 0.
  int64_t interval_ms = 100;
  // The webhook's path; POST only. Starts with '/'.
  std::string path = "/ingest";
};

// One interval of the time series: arrivals whose request reached the handler
// in [start_ms, start_ms + interval_ms) after Start().
struct SinkInterval {
  int64_t start_ms = 0;
  uint64_t events = 0;  // lines parsed, every priority, duplicates included
  uint64_t critical_events = 0;
  int64_t critical_max_us = 0;  // largest critical latency; 0 when none
};

// The sink's counters and latencies, as of one moment (all read together).
struct SinkSnapshot {
  uint64_t requests = 0;         // POSTs on the path, failed ones included
  uint64_t failed_requests = 0;  // answered 503 in the failure window, nothing recorded
  uint64_t events = 0;           // lines parsed, duplicates included
  uint64_t unique = 0;           // distinct source_seq values
  uint64_t duplicates = 0;       // lines whose source_seq had been seen before
  uint64_t unparsed_lines = 0;   // non-empty lines without the three fields
  uint64_t seq_end = 0;          // one past the largest source_seq; 0 when none
  std::array<uint64_t, kNumPriorities> events_by_priority{};  // by LevelIndex
  // Latency (arrival - load_sent_us) in µs, by LevelIndex; duplicates included.
  std::array<HdrHistogram, kNumPriorities> latency_us;
  // The canary stream's latencies alone (they are in latency_us too).
  HdrHistogram canary_latency_us;
  int64_t first_arrival_unix_us = 0;  // of the first event; 0 before it
  int64_t last_arrival_unix_us = 0;   // of the latest event; 0 before the first
};

// What the sink reads from one delivered line (src/sink/common/delivered_format.h).
struct SinkLine {
  Priority priority = Priority::kNormal;
  uint64_t source_seq = 0;
  int64_t load_sent_us = 0;
  bool canary = false;  // a critical line from "source":"canary...": the canary stream
};

// What marks a canary line (EventGenerator::AppendCanary writes it).
inline constexpr std::string_view kCanarySourceField = "\"source\":\"canary";

// Finds "gateway_priority":"<level>", "source_seq":<uint> and
// "load_sent_us":<uint> (which must fit int64) anywhere in `line`, spaces
// allowed after the colon. A scan for the keys, not a JSON parse: meant for
// the load sender's own events. nullopt when one is missing or malformed.
// Thread-safe (no state); no allocation.
std::optional<SinkLine> ScanSinkLine(std::string_view line);

// The unsigned integer right after the first `key` in `line` (`key` includes
// its quotes and colon, e.g. "\"ack\":"), spaces allowed before it; nullopt
// when the key is missing or no integer follows. Thread-safe; no allocation.
std::optional<uint64_t> ScanUintAfter(std::string_view line, std::string_view key);

// The webhook receiver of the storm benchmark: the gateway's http sink POSTs
// NDJSON batches to it. For every line it records the latency (arrival -
// load_sent_us) by priority, marks source_seq to count duplicates and, against
// what the gateway accepted, losses, and feeds a time series. It can be capped
// (acks no faster than N events/s, by holding the reply: the gateway's one
// connection waits, which is the back-pressure wanted) and made to fail (503)
// for a window.
//
// Runs gridgate's HttpServer on an io_context of its own, on one thread of
// its own, started by Start() and joined by Stop().
//
// Thread-safety: Snapshot, Series, CountLost and port are thread-safe and may
// be called while requests arrive. Start and Stop belong to one owning
// thread, not the sink's own; the destructor stops. Arrival and latency use
// `clock` (UnixNs, in µs), the failure window, series and cap its
// MonotonicNs; `clock` must outlive the server.
class SinkServer {
 public:
  // Validates `options` (InvalidArgument naming the bad one) and binds the
  // port, so that port() is known at once (IoError when it cannot be bound).
  // Accepts nothing before Start().
  static Result<std::unique_ptr<SinkServer>> Create(const SinkOptions& options,
                                                    Clock* clock = SystemClock());
  ~SinkServer();
  SinkServer(const SinkServer&) = delete;
  SinkServer& operator=(const SinkServer&) = delete;

  // Starts serving on the sink's thread; the failure window and the series
  // count from now. InvalidArgument when called twice or after Stop();
  // IoError when the thread cannot be started.
  Status Start();

  // Wakes a handler waiting for the cap (its request is answered 503), stops
  // serving, and joins the thread. What was recorded stays readable.
  // Idempotent.
  void Stop();

  // The bound port (the OS's choice when options.port was 0).
  uint16_t port() const;

  // A copy of every counter and histogram (about 1 MB: four histograms).
  SinkSnapshot Snapshot() const;

  // Every interval from Start() up to now (or Stop()), empty ones included;
  // empty before Start(). Grows by one entry per interval_ms while the sink
  // runs.
  std::vector<SinkInterval> Series() const;

  // How many sequence numbers marked in `accepted` never arrived here.
  uint64_t CountLost(const SeqTracker& accepted) const;

 private:
  SinkServer(const SinkOptions& options, Clock* clock, std::unique_ptr<boost::asio::io_context> io);

  ingest::http::HttpReply Handle(const ingest::http::HttpRequest& request);
  bool InFailureWindow(int64_t mono_ns) const;
  // Records the lines in scratch_ that arrived at the given times.
  void RecordLocked(int64_t arrival_unix_us, int64_t arrival_mono_ns) REQUIRES(mu_);
  // Waits until `lines` more acknowledged events keep within the cap; false
  // when Stop() came first.
  bool WaitForCapLocked(uint64_t lines, int64_t arrival_mono_ns) REQUIRES(mu_);
  size_t IntervalOf(int64_t mono_ns) const;

  const SinkOptions options_;
  Clock* const clock_;
  const std::unique_ptr<boost::asio::io_context> io_;  // outlives server_
  std::unique_ptr<ingest::http::HttpServer> server_;
  std::thread thread_;
  // Set by Start() before the thread runs; read by the handler.
  std::atomic<int64_t> start_mono_ns_{0};

  // The sink's thread only: the lines of the request being handled.
  std::vector<SinkLine> scratch_;
  uint64_t scratch_unparsed_ = 0;

  mutable Mutex mu_;
  CondVar stop_cv_;
  bool started_ GUARDED_BY(mu_) = false;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::optional<int64_t> stop_mono_ns_ GUARDED_BY(mu_);
  // The cap's virtual clock: when every event acknowledged so far is allowed
  // (generic cell rate algorithm). Unset until the first capped request.
  std::optional<int64_t> cap_allowed_at_ns_ GUARDED_BY(mu_);
  SinkSnapshot stats_ GUARDED_BY(mu_);  // unique, duplicates, seq_end come from seqs_
  SeqTracker seqs_ GUARDED_BY(mu_);
  std::vector<SinkInterval> series_ GUARDED_BY(mu_);
};

}  // namespace gridgate::load
