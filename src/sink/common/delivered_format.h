#pragma once

#include <cstdint>
#include <string>

#include "event/event.h"

namespace gridgate::sink {

// How a delivered event looks on the wire: one NDJSON line per event (the
// file and stdout sinks write these lines as they are; the http sink posts
// them as an application/x-ndjson body).
//
// A line is the sender's original JSON object (Event::payload) with the
// gateway's three fields spliced in front of the sender's, then '\n':
//
//   {"gateway_seq":123,"gateway_ingest_time":"2026-07-08T14:03:41.020Z",
//    "gateway_priority":"critical","meter_id":"1ND785727916NMD06",...}
//
// (one line on the wire; wrapped here).
//
//   - gateway_seq: the gateway sequence number, a JSON integer. Strictly
//     increasing across one gateway's events; at-least-once delivery may
//     repeat a line, and a reader drops a repeated gateway_seq.
//   - gateway_ingest_time: when the gateway decoded the event, RFC 3339 in
//     UTC with exactly three fraction digits (milliseconds, truncated), 'Z'.
//   - gateway_priority: "critical", "high", "normal" or "low".
//
// The sender's bytes after its opening '{' are copied as they are, with one
// exception: a raw CR or LF becomes a space, so that an event is always one
// line. In a valid JSON object these can only be whitespace between tokens, so
// the object means the same. An empty object `{}` gives just the gateway
// fields; whitespace before the '{' is dropped.
//
// A payload that does not start with '{' (after whitespace) is not one JSON
// object. The decoder never produces one, but the Event API allows it; such a
// payload is delivered as a string instead, escaped (common/json_escape.h):
//
//   {"gateway_seq":7,...,"gateway_priority":"low","payload":"<escaped bytes>"}
//
// The payload is not validated otherwise: a payload that starts with '{' but
// is not valid JSON gives a line that is not valid JSON either. A sender field
// named like a gateway field would repeat that key; the decoder is the place
// to refuse such events.

// Appends the delivered line of `event`, '\n' included, to `*out`.
// Thread-safe (no state). Allocates only by growing `out`.
void AppendDeliveredLine(const Event& event, std::string* out);

// Appends `unix_ns` as an RFC 3339 UTC timestamp with milliseconds
// ("2026-07-08T14:03:41.020Z"), without quotes. Rounds towards the past,
// also before 1970.
void AppendRfc3339Millis(int64_t unix_ns, std::string* out);

}  // namespace gridgate::sink
