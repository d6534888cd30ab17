#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "event/classifier.h"
#include "event/json_decoder.h"
#include "filter/backpressure_filter.h"

namespace gridgate::ingest {

// One event of a request that was not taken, for the reply to its sender.
struct Refusal {
  size_t index = 0;  // the event's position in the batch (array index or NDJSON event count)
  size_t line = 0;   // NDJSON: its 1-based line in the body; 0 otherwise
  // "invalid: meter_id: missing", "memory_full", "disk_full", ...
  std::string reason;
  // When retrying the same event later may succeed: how long to wait. 0 when
  // it cannot succeed as it is (a malformed event).
  uint32_t retry_after_ms = 0;
};

struct IngestResult {
  size_t events = 0;             // events in the body, taken or not
  size_t accepted = 0;           // queued or spilled
  std::vector<Refusal> refused;  // in batch order
  uint64_t first_seq = 0;        // gateway seq of the first accepted event
  uint64_t last_seq = 0;         // and of the last

  // Nothing taken, and every refusal is one that a retry can clear: the
  // gateway is under pressure (HTTP 429 with Retry-After).
  bool RefusedForPressure() const;
  // The longest retry-after among the refusals, in ms.
  uint32_t MaxRetryAfterMs() const;
};

// Counts shared by every pipeline of a gateway (the HTTP and the TCP source):
// what the sources saw before the filter. Thread-safe.
struct IngestCounters {
  std::atomic<uint64_t> requests{0};    // bodies (HTTP) or read batches (TCP)
  std::atomic<uint64_t> events{0};      // events in them, valid or not
  std::atomic<uint64_t> invalid{0};     // refused by the decoder: malformed or invalid
  std::atomic<uint64_t> bad_bodies{0};  // bodies that were not events at all
};

// The path from a request body to the filter, shared by the HTTP and TCP
// sources: decode (simdjson), validate, classify, and push the valid events
// with one Push, so the filter's lock is taken once per request.
//
// Thread-compatible: one pipeline per connection or per I/O thread (it owns
// a Decoder and scratch buffers). `filter`, `classifier` and `clock` are
// shared, thread-safe, and must outlive it.
class IngestPipeline {
 public:
  static Result<std::unique_ptr<IngestPipeline>> Create(filter::BackpressureFilter* filter,
                                                        event::Classifier* classifier,
                                                        const event::DecodeOptions& options,
                                                        Clock* clock = SystemClock(),
                                                        IngestCounters* counters = nullptr);

  // Takes `body`. InvalidArgument when it is not events at all (the reply is
  // a 400); otherwise OK, and *result says, for every event, whether it was
  // taken and why not.
  Status Ingest(std::string_view body, event::BodyFormat format, IngestResult* result);

 private:
  IngestPipeline(filter::BackpressureFilter* filter, event::Classifier* classifier,
                 std::unique_ptr<event::Decoder> decoder, Clock* clock, IngestCounters* counters);

  filter::BackpressureFilter* const filter_;
  event::Classifier* const classifier_;
  const std::unique_ptr<event::Decoder> decoder_;
  Clock* const clock_;
  IngestCounters own_counters_;
  IngestCounters* const counters_;  // own_counters_ unless shared ones were given
  // Scratch, reused across requests.
  std::vector<event::DecodedEvent> decoded_;
  std::vector<event::EventError> errors_;
  std::vector<Event> events_;
  std::vector<filter::PushOutcome> outcomes_;
};

}  // namespace gridgate::ingest
