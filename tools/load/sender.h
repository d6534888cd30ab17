#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/mutex.h"
#include "common/result.h"
#include "event/priority.h"
#include "tools/load/event_generator.h"
#include "tools/load/rate_profile.h"
#include "tools/load/sink/seq_tracker.h"

namespace gridgate::load {

enum class Transport { kTcp, kHttp };

struct SenderOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 7070;  // the gateway's TCP port, or its HTTP ingest port
  Transport transport = Transport::kTcp;
  // Connections carrying the profile's events (each a share of the rate);
  // the canary stream has one more of its own.
  int connections = 4;
  RateProfile profile;
  Mix mix = Mix::Storm();
  // Critical over-voltage events per second through the whole profile, on
  // their own connection. 0: no canary.
  double canary_eps = 100;
  uint64_t fleet_size = 500'000;
  uint64_t seed = 1;
  std::string source = "hes-load-01";
  // The first sequence number: a second sender to the same sink starts
  // above the first one's, or the sink counts its events as duplicates.
  uint64_t first_seq = 0;
  // After the profile ends, how long to keep waiting for acks and resending
  // refused events before giving up (what is left is reported unresolved).
  double settle_seconds = 600;
  // The sender wakes this often to send what the profile owes.
  uint32_t tick_ms = 1;
  // The most events in one write (or one HTTP request).
  size_t max_batch_events = 4096;
  // TCP: the most events written on one connection and not yet acked or
  // nacked. A head-end paces itself by the gateway's acks: past this window it
  // waits instead of piling events into the socket buffers, where an alert
  // would sit behind megabytes of readings the gateway has not read yet. The
  // lag shows as an offered rate below the profile's. 0: no window.
  size_t max_unacked_events = 2048;

  Status Validate() const;
};

// Counters, readable while the sender runs (each on its own).
struct SenderProgress {
  uint64_t offered = 0;   // distinct events generated and sent once (canaries included)
  uint64_t accepted = 0;  // distinct events the gateway took
  uint64_t refused = 0;   // refusals received (a resent event may be refused again)
  uint64_t resent = 0;    // sends after a refusal or a broken connection
};

struct SenderResult {
  SenderProgress totals;
  uint64_t canary_offered = 0;
  std::array<uint64_t, kNumPriorities> offered_by_priority{};
  std::map<std::string, uint64_t> refused_by_reason;
  uint64_t refused_final = 0;  // refusals the gateway said not to retry (retry_after 0)
  uint64_t unresolved = 0;     // neither accepted nor finally refused when the sender gave up
  uint64_t reconnects = 0;
  uint64_t send_errors = 0;
  int64_t start_unix_us = 0;
  int64_t profile_end_unix_us = 0;  // when the last new event was sent
  int64_t end_unix_us = 0;          // when the last event was resolved
  double peak_offered_eps = 0;      // highest one-second send rate of new events
};

// Sends a rate profile of generated events (event_generator.h) to the
// gateway over TCP (NDJSON with acks, docs/tcp-ack-protocol.md) or HTTP (POST
// /api/v1/events, NDJSON bodies), reads every ack and refusal, and resends each
// refused event after its retry-after, until every event is taken.
//
// Sequence numbers are global across connections and dense from 0, so the
// sink can tell lost and duplicated events apart (accepted() is the set the
// gateway took). A sender that falls behind the profile sends as fast as the
// gateway takes events until it has caught up: the total is always the
// profile's.
//
// Threads: Run() starts a writer (and for TCP a reader) per connection and
// blocks until done. Progress() and Cancel() are thread-safe; result() and
// accepted() are for after Run().
class Sender {
 public:
  static Result<std::unique_ptr<Sender>> Create(const SenderOptions& options);
  ~Sender();

  // Connects, sends the whole profile, waits for every ack and resend.
  // IoError when no connection could be opened; otherwise OK, with what
  // happened in result() (unresolved > 0 when it gave up waiting).
  Status Run();
  void Cancel();

  SenderProgress Progress() const;
  // What happened; complete once Run() has returned.
  SenderResult result() const;
  // A copy of the set of sequence numbers the gateway accepted.
  SeqTracker accepted() const;

 private:
  struct Connection;
  struct Resend {
    uint64_t seq;
    int64_t sent_us;
    int64_t due_us;
    bool canary;
    bool operator>(const Resend& o) const { return due_us > o.due_us; }
  };
  struct Pending {
    uint64_t seq;
    int64_t sent_us;
    bool canary;
    bool nacked;
  };

  explicit Sender(const SenderOptions& options);
  void WriterLoop(Connection* c);
  void ReaderLoop(Connection* c);
  bool SendTcp(Connection* c, std::string* buf, std::vector<Pending>* items);
  bool SendHttp(Connection* c, std::string* buf, std::vector<Pending>* items);
  void Accept(const std::vector<uint64_t>& seqs);
  void Refuse(const Pending& p, std::string_view reason, int64_t retry_after_ms);
  void TakeDueResends(bool canary, size_t max, std::vector<Pending>* out);
  bool Connect(Connection* c);
  void Disconnect(Connection* c);
  bool Finished() const;

  const SenderOptions options_;
  const EventGenerator generator_;
  std::chrono::steady_clock::time_point start_;
  std::atomic<uint64_t> next_seq_{0};
  std::atomic<int64_t> unresolved_{0};
  std::atomic<int> writers_generating_{0};
  std::atomic<bool> cancel_{false};
  std::atomic<uint64_t> offered_{0};
  std::atomic<uint64_t> accepted_count_{0};
  std::atomic<uint64_t> refused_{0};
  std::atomic<uint64_t> resent_{0};

  mutable Mutex mu_;
  SeqTracker accepted_ GUARDED_BY(mu_);
  std::vector<Resend> resend_heap_ GUARDED_BY(mu_);  // min-heap by due_us
  SenderResult result_ GUARDED_BY(mu_);
  std::vector<std::unique_ptr<Connection>> connections_;
};

}  // namespace gridgate::load
