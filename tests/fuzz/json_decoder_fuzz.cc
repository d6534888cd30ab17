// libFuzzer target: arbitrary bytes as an ingest batch body, decoded by
// event::Decoder and each decoded event classified. The first byte picks the
// body form (bit 0: NDJSON) and the event size limit (bit 1: 96 bytes instead
// of 4096); the rest is the body. Any invariant broken aborts with a message,
// which libFuzzer reports as a crash.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>
#include <vector>

#include "event/classifier.h"
#include "event/json_decoder.h"

namespace gridgate::event {
namespace {

void Check(bool ok, const char* what, uint64_t value = 0) {
  if (!ok) {
    std::fprintf(stderr, "json_decoder_fuzz: invariant broken: %s (%llu)\n", what,
                 static_cast<unsigned long long>(value));
    std::abort();
  }
}

std::unique_ptr<Decoder> MakeDecoder(size_t max_event_bytes) {
  DecodeOptions options;
  options.max_event_bytes = max_event_bytes;
  auto d = Decoder::Create(options);
  Check(d.ok(), "Decoder::Create");
  return std::move(d.value());
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Non-blank lines and all lines of an NDJSON body, counted independently of
// the decoder.
void CountLines(std::string_view body, size_t* non_blank, size_t* lines) {
  if (body.starts_with("\xEF\xBB\xBF")) {
    body.remove_prefix(3);
  }
  *non_blank = 0;
  *lines = 0;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find('\n', pos);
    if (end == std::string_view::npos) {
      end = body.size();
    }
    ++*lines;
    bool blank = true;
    for (size_t i = pos; i < end; ++i) {
      blank &= IsSpace(body[i]);
    }
    *non_blank += blank ? 0 : 1;
    pos = end + 1;
  }
}

void CheckEvent(const DecodedEvent& e, std::string_view body, size_t max_event_bytes) {
  Check(e.raw.data() >= body.data() && e.raw.size() <= body.size() &&
            e.raw.data() - body.data() <= static_cast<ptrdiff_t>(body.size() - e.raw.size()),
        "raw lies within the body", e.index);
  Check(e.raw.size() >= 2 && e.raw.front() == '{' && e.raw.back() == '}', "raw is an object",
        e.index);
  Check(e.raw.size() <= max_event_bytes, "raw within max_event_bytes", e.raw.size());
  Check(!e.source.empty() && Utf8Chars(e.source) <= kMaxSourceChars, "source within limits");
  Check(!e.meter_id.empty() && Utf8Chars(e.meter_id) <= kMaxMeterIdChars, "meter_id in limits");
  Check(!e.type.empty() && Utf8Chars(e.type) <= kMaxTypeChars, "type within limits");
  Check(Utf8Chars(e.cim_code) <= kMaxCimCodeChars, "cim_code within limits");
  Check(Utf8Chars(e.vendor_code) <= kMaxVendorCodeChars, "vendor_code within limits");
  Check(Utf8Chars(e.event_id) <= kMaxEventIdChars, "event_id within limits");
}

// A decoded event's raw bytes, decoded again alone, give the same event.
void CheckRoundTrip(Decoder* decoder, const DecodedEvent& e) {
  std::vector<DecodedEvent> again;
  std::vector<EventError> errors;
  Check(decoder->DecodeBatch(e.raw, BodyFormat::kJson, &again, &errors).ok(), "raw decodes alone");
  Check(again.size() == 1 && errors.empty(), "raw is one valid event alone");
  const DecodedEvent& a = again[0];
  Check(a.raw == e.raw && a.source == e.source && a.meter_id == e.meter_id && a.type == e.type &&
            a.device_time_ms == e.device_time_ms && a.cim_code == e.cim_code &&
            a.vendor_code == e.vendor_code && a.event_id == e.event_id &&
            a.source_seq == e.source_seq && a.headend_time_ms == e.headend_time_ms &&
            a.priority == e.priority,
        "raw decodes to the same event");
}

}  // namespace
}  // namespace gridgate::event

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gridgate;         // NOLINT(google-build-using-namespace)
  using namespace gridgate::event;  // NOLINT(google-build-using-namespace)
  static Decoder* const big = MakeDecoder(4096).release();
  static Decoder* const small = MakeDecoder(96).release();
  static Decoder* const again = MakeDecoder(4096).release();
  static Classifier* const classifier = [] {
    ClassifierRules rules = ClassifierRules::Default();
    rules.trusted_sources.insert("t");
    rules.vendor_code_type["v"] = "last_gasp";
    auto c = Classifier::Create(std::move(rules));
    Check(c.ok(), "Classifier::Create");
    return c.value().release();
  }();
  if (size == 0) {
    return 0;
  }
  const bool ndjson = (data[0] & 1) != 0;
  Decoder* decoder = (data[0] & 2) != 0 ? small : big;
  const size_t max_event_bytes = decoder->options().max_event_bytes;
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);

  std::vector<DecodedEvent> events;
  std::vector<EventError> errors;
  const Status s = decoder->DecodeBatch(body, ndjson ? BodyFormat::kNdjson : BodyFormat::kJson,
                                        &events, &errors);
  if (!s.ok()) {
    Check(s.code() == Status::Code::kInvalidArgument, "a bad body is InvalidArgument");
    Check(!s.message().empty(), "a bad body says why");
    Check(events.empty() && errors.empty(), "a bad body yields nothing");
    return 0;
  }
  const size_t n = events.size() + errors.size();
  size_t non_blank = 0;
  size_t lines = 0;
  CountLines(body, &non_blank, &lines);
  if (ndjson) {
    Check(n == non_blank, "decoded + refused = non-blank lines", n);
  } else {
    Check(n <= body.size(), "no more events than bytes", n);
  }
  // Indices: every one of 0..n-1 exactly once, each list in increasing order.
  std::vector<bool> seen(n, false);
  for (size_t i = 0; i < events.size(); ++i) {
    const DecodedEvent& e = events[i];
    Check(e.index < n && !seen[e.index], "event index in range and unique", e.index);
    Check(i == 0 || events[i - 1].index < e.index, "events in batch order", e.index);
    seen[e.index] = true;
    CheckEvent(e, body, max_event_bytes);
    (void)classifier->Classify(e);
  }
  for (size_t i = 0; i < errors.size(); ++i) {
    const EventError& err = errors[i];
    Check(err.index < n && !seen[err.index], "error index in range and unique", err.index);
    Check(i == 0 || errors[i - 1].index < err.index, "errors in batch order", err.index);
    seen[err.index] = true;
    Check(!err.reason.empty(), "a refusal says why", err.index);
    Check(ndjson ? (err.line >= 1 && err.line <= lines) : err.line == 0, "error line in range",
          err.line);
  }
  for (const DecodedEvent& e : events) {
    CheckRoundTrip(again, e);
  }
  return 0;
}
