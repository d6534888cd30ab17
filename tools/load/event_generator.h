#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/status.h"
#include "event/priority.h"

namespace gridgate::load {

// The share of each priority in generated traffic, indexed by LevelIndex().
// Need not sum to 1: Normalised() scales them.
struct Mix {
  std::array<double, kNumPriorities> share{};

  // EVENTS.md's brownout-recovery storm: 0.7% critical, 17% high, 25.5%
  // normal, 56.7% low (the remaining 0.1% is low too).
  static Mix Storm();
  // An ordinary day: about 99% low readings.
  static Mix Everyday();
  // "c,h,n,l", e.g. "0.7,17,25.5,56.7" (any scale).
  static Result<Mix> Parse(std::string_view text);

  Status Validate() const;
  Mix Normalised() const;
  std::string Describe() const;
};

inline constexpr std::string_view kCanarySource = "canary-01";

// Generates the events of EVENTS.md as one NDJSON line each, 130 to 380
// bytes, from a simulated fleet of meters. An event is a pure function of its
// sequence number (and the generator's seed), so a resend regenerates the
// same event: the priority, the type, the meter and the values do not change;
// only the times do (`load_sent_us` keeps the first send's time when the
// caller passes it again).
//
// Every event carries `source_seq` (the sender's sequence number) and
// `load_sent_us` (microseconds since the Unix epoch, CLOCK_REALTIME, when the
// sender first wrote it): the sink measures latency and loss from these.
//
// The types follow the default classifier table, so the priority the gateway
// gives an event is PriorityOf(seq) unless its configuration changes the
// table.
//
// Immutable after construction: thread-safe.
class EventGenerator {
 public:
  // `mix` must be valid; `fleet_size` >= 1; `source` at most 32 bytes of
  // plain ASCII (it is written without escaping).
  EventGenerator(const Mix& mix, uint64_t fleet_size, uint64_t seed, std::string source);

  // Appends event `seq`'s line, '\n' included; returns its priority
  // (PriorityOf(seq)).
  Priority Append(uint64_t seq, int64_t sent_us, std::string* out) const;
  // Appends a canary: an over-voltage alert (critical) with sequence `seq`,
  // from the source kCanarySource (how the sink tells canaries apart).
  Priority AppendCanary(uint64_t seq, int64_t sent_us, std::string* out) const;

  // The priority event `seq` is generated for.
  Priority PriorityOf(uint64_t seq) const;

 private:
  struct Draw;
  Draw DrawFor(uint64_t seq) const;
  void AppendEvent(const Draw& d, uint64_t seq, int64_t sent_us, std::string_view source,
                   std::string* out) const;

  std::array<uint64_t, kNumPriorities> thresholds_{};  // cumulative, scaled to 2^32
  uint64_t fleet_size_;
  uint64_t seed_;
  std::string source_;
};

}  // namespace gridgate::load
