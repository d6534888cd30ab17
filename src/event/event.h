#pragma once

#include <compare>
#include <cstdint>
#include <string_view>

#include "event/priority.h"

namespace gridgate {

// The gateway's sequence number: assigned once, when an event is accepted,
// strictly increasing across all levels of one gateway. Delivered with the
// event, so a reader can drop the duplicates that at-least-once delivery
// allows.
struct Seq {
  uint64_t value = 0;
  friend auto operator<=>(const Seq&, const Seq&) = default;
};

// One event, as a view: it owns none of the bytes it points to. Whoever builds
// an Event keeps meter_id, type and payload alive for as long as the Event is
// used; an Event handed out by the filter points into its PopBatch.
struct Event {
  // Assigned by the filter on push (the value passed in is ignored).
  Seq seq;
  Priority priority = Priority::kNormal;
  // When the meter says the event happened, Unix milliseconds.
  int64_t device_time_ms = 0;
  // When the gateway decoded the event, Unix nanoseconds.
  int64_t ingest_time_ns = 0;
  // At most kMaxMeterIdBytes and kMaxTypeBytes (event/record_format.h).
  std::string_view meter_id;
  std::string_view type;
  // The sender's original bytes (one JSON object), carried untouched.
  std::string_view payload;
};

}  // namespace gridgate
