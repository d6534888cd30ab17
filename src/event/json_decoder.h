#pragma once

// The ingest decoder: a batch body (one JSON object, a JSON array of objects,
// or NDJSON) into validated events, after ../shared/EVENTS.md.
//
// Decisions, in one place:
//
// - Body forms. BodyFormat::kJson takes one object or an array of objects;
//   kNdjson takes one object per line ('\n', an optional '\r' before it),
//   blank lines ignored. A UTF-8 byte-order mark is skipped at the very start
//   of the body, nowhere else. An empty body (or only whitespace), a kJson body
//   that starts with neither '{' nor '[', and an array whose *outer* syntax is
//   broken (unterminated, a mismatched bracket, an empty element as in
//   `[{..},]` or `[,{..}]`, content after the closing ']', an unterminated
//   string) are not events at all: DecodeBatch returns InvalidArgument and no
//   events. `[]` is a valid batch of zero events.
// - Per event. Inside the array (and for each NDJSON line, and for a single
//   object) each element stands alone: a malformed element, one that is not an
//   object, or one that fails validation goes to `errors` with its index and a
//   reason naming the field ("meter_id: missing"), and the other events of the
//   batch are still decoded. The array is split on its top-level commas by a
//   byte scan that follows strings and brackets, so syntax broken *inside* one
//   element (`{"a":tru}`) costs only that element.
// - Every element is parsed in full by simdjson's DOM parser, unknown fields
//   included, so a payload that is carried through is always valid JSON
//   (simdjson's On-Demand API would skip unknown fields unchecked). A number
//   that fits neither a 64-bit integer nor a double, anywhere in the event,
//   refuses it ("malformed JSON: number out of range"). Nesting deeper than
//   kMaxDepth refuses the event.
// - Duplicate keys. A field of EVENTS.md that appears twice refuses the event
//   ("meter_id: duplicate key"): two readers of the payload could otherwise
//   disagree on which one counts. Unknown fields may repeat; they are carried
//   through untouched.
// - Limits are in characters (Unicode code points) of the unescaped value, as
//   EVENTS.md states them; for the ASCII identifiers seen in practice that is
//   bytes. Required strings must also be non-empty. A whole event (the trimmed
//   object text) is at most DecodeOptions::max_event_bytes bytes; an NDJSON
//   line over it is "line too long", an array element over it "event too long".
// - null in an optional field means absent; null in a required field is the
//   wrong type. `location` must be an object; its four known keys are checked
//   (string, 24 characters), other keys inside it are carried through.
// - Timestamps: RFC 3339 in UTC only: `YYYY-MM-DDTHH:MM:SS[.f]Z` or
//   `...+00:00`, with 'T' and 'Z' upper-case, 0 to 9 fraction digits
//   (truncated to milliseconds, not rounded), years 0000-9999, second 60 (a
//   leap second) counted as the next second, as POSIX time does. Any other
//   offset ("+02:00", "-00:00") is refused: "device_time: not RFC 3339 UTC".
// - Integers: source_seq u64, duration_ms u32, quality u16; a JSON number with
//   a fraction or exponent (`1.0`, `1e3`) is not an integer and is refused.
// - Invalid UTF-8 anywhere in an event (keys and unknown fields included)
//   refuses that event: "invalid UTF-8".

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/status.h"
#include "event/priority.h"

namespace gridgate::event {

enum class BodyFormat : uint8_t {
  kJson,    // one object, or an array of objects
  kNdjson,  // one object per line
};

// Limits of the ingest format (EVENTS.md), in characters.
inline constexpr size_t kMaxSourceChars = 32;
inline constexpr size_t kMaxMeterIdChars = 32;
inline constexpr size_t kMaxTypeChars = 40;
inline constexpr size_t kMaxEventIdChars = 64;
inline constexpr size_t kMaxCimCodeChars = 24;
inline constexpr size_t kMaxVendorCodeChars = 32;
inline constexpr size_t kMaxUnitChars = 8;
inline constexpr size_t kMaxPhaseChars = 3;
inline constexpr size_t kMaxReadingTypeChars = 48;
inline constexpr size_t kMaxLocationFieldChars = 24;
inline constexpr size_t kMaxRawChars = 256;
// The deepest nesting of arrays and objects inside one event.
inline constexpr size_t kMaxDepth = 64;

struct DecodeOptions {
  // The largest event, in bytes of its JSON object text (whitespace around it
  // not counted). At least 2 (Decoder::Create refuses less).
  size_t max_event_bytes = 4096;
};

// One decoded, validated event. Views, owning nothing:
// - `raw` points into the body passed to DecodeBatch: the exact bytes of the
//   event's JSON object, whitespace around it trimmed; valid while that body is.
// - The other strings are unescaped copies in the Decoder's scratch space,
//   valid until the next DecodeBatch call on the same Decoder or its
//   destruction.
// An absent optional string is empty.
struct DecodedEvent {
  // 0-based position of the event in the batch: the array index, or for
  // NDJSON the count of non-blank lines before it.
  size_t index = 0;
  // NDJSON: the 1-based line of the body it came from; kJson: 0.
  size_t line = 0;
  std::string_view raw;
  std::string_view source;
  std::string_view meter_id;
  std::string_view type;
  int64_t device_time_ms = 0;  // Unix milliseconds
  std::string_view event_id;
  std::optional<uint64_t> source_seq;
  std::optional<int64_t> headend_time_ms;
  std::string_view cim_code;
  std::string_view vendor_code;
  // The sender's own `priority` field; the classifier decides whether it counts.
  std::optional<Priority> priority;
};

// One refused event.
struct EventError {
  size_t index = 0;  // as DecodedEvent::index
  size_t line = 0;   // NDJSON: the 1-based line number in the body; kJson: 0
  std::string reason;
};

// Decodes batch bodies. Not thread-safe: one Decoder per thread. It keeps its
// scratch buffers (a padded copy of one event, the parser's tape, the unescaped
// strings of one batch) between calls, so that after warm-up a batch decodes
// without allocating, except for the reasons of refused events and the growth
// of the caller's vectors.
class Decoder {
 public:
  // InvalidArgument when `options` is unusable.
  static Result<std::unique_ptr<Decoder>> Create(const DecodeOptions& options);
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Decodes `body`. Clears `*events` and `*errors`, then fills them in batch
  // order. Returns InvalidArgument (events and errors left empty) when the body
  // is not events at all (see the top of this file); otherwise OK, even when
  // every event was refused. The views in `*events` follow DecodedEvent's
  // lifetime rules.
  Status DecodeBatch(std::string_view body, BodyFormat format, std::vector<DecodedEvent>* events,
                     std::vector<EventError>* errors);

  const DecodeOptions& options() const { return options_; }

 private:
  struct Impl;
  Decoder(const DecodeOptions& options, std::unique_ptr<Impl> impl);

  const DecodeOptions options_;
  std::unique_ptr<Impl> impl_;  // keeps simdjson.h out of this header
};

// Parses an RFC 3339 UTC timestamp (the forms above) into Unix milliseconds;
// nullopt when it is not one. Exposed for tests and the config loader.
std::optional<int64_t> ParseRfc3339UtcMs(std::string_view text);

// Unicode code points in `utf8`, which must be valid UTF-8.
size_t Utf8Chars(std::string_view utf8);

}  // namespace gridgate::event
