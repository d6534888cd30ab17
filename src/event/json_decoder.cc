#include "event/json_decoder.h"

#include <simdjson.h>

#include <array>
#include <bit>
#include <cstring>
#include <utility>

namespace gridgate::event {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && IsSpace(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

// The fields of EVENTS.md. The order is the bit order of the `seen` mask.
enum class Field : uint8_t {
  kSource,
  kMeterId,
  kType,
  kDeviceTime,
  kEventId,
  kSourceSeq,
  kHeadendTime,
  kCimCode,
  kVendorCode,
  kPriority,
  kValue,
  kUnit,
  kPhase,
  kDurationMs,
  kReadingType,
  kIntervalStart,
  kQuality,
  kLocation,
  kRaw,
  kUnknown,
};

enum class Kind : uint8_t { kString, kTime, kU64, kU32, kU16, kNumber, kPriority, kLocation };

struct FieldSpec {
  std::string_view name;
  Kind kind;
  size_t max_chars;  // kString only
  bool required;
};

constexpr std::array<FieldSpec, static_cast<size_t>(Field::kUnknown)> kFields = {{
    {"source", Kind::kString, kMaxSourceChars, true},
    {"meter_id", Kind::kString, kMaxMeterIdChars, true},
    {"type", Kind::kString, kMaxTypeChars, true},
    {"device_time", Kind::kTime, 0, true},
    {"event_id", Kind::kString, kMaxEventIdChars, false},
    {"source_seq", Kind::kU64, 0, false},
    {"headend_time", Kind::kTime, 0, false},
    {"cim_code", Kind::kString, kMaxCimCodeChars, false},
    {"vendor_code", Kind::kString, kMaxVendorCodeChars, false},
    {"priority", Kind::kPriority, 0, false},
    {"value", Kind::kNumber, 0, false},
    {"unit", Kind::kString, kMaxUnitChars, false},
    {"phase", Kind::kString, kMaxPhaseChars, false},
    {"duration_ms", Kind::kU32, 0, false},
    {"reading_type", Kind::kString, kMaxReadingTypeChars, false},
    {"interval_start", Kind::kTime, 0, false},
    {"quality", Kind::kU16, 0, false},
    {"location", Kind::kLocation, 0, false},
    {"raw", Kind::kString, kMaxRawChars, false},
}};
static_assert(kFields.size() <= 32, "the seen-mask is 32 bits");

constexpr std::array<std::string_view, 4> kLocationFields = {"service_point", "transformer",
                                                             "feeder", "substation"};
static_assert(kLocationFields[0].size() == 13 && kLocationFields[1].size() == 11 &&
                  kLocationFields[2].size() == 6 && kLocationFields[3].size() == 10,
              "LookupLocationField dispatches on these sizes");

// "field: what", the reason of a refused event.
std::string Reason(std::string_view field, std::string_view what) {
  std::string reason(field);
  reason += ": ";
  reason += what;
  return reason;
}

uint64_t Load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

uint32_t Load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// a == b for two strings of the same size `n` <= 16: two overlapping loads
// rather than a call to memcmp, which showed in profiles of the per-key lookup.
bool SmallEqual(const char* a, const char* b, size_t n) {
  if (n >= 8) {
    return Load64(a) == Load64(b) && Load64(a + n - 8) == Load64(b + n - 8);
  }
  if (n >= 4) {
    return Load32(a) == Load32(b) && Load32(a + n - 4) == Load32(b + n - 4);
  }
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) {
      return false;
    }
  }
  return true;
}

// The lookup of a key among kFields: a table indexed by a hash of the key's
// size and first and last bytes, perfect over the names of kFields (checked
// below), so that a key costs one table read and at most one comparison.
constexpr size_t kFieldSlots = 64;
constexpr size_t kLongestFieldName = 16;  // SmallEqual's limit

constexpr size_t FieldSlot(std::string_view key) {
  return (key.size() * 5 + static_cast<unsigned char>(key.front()) +
          static_cast<unsigned char>(key.back())) %
         kFieldSlots;
}

constexpr std::array<Field, kFieldSlots> MakeFieldSlots() {
  std::array<Field, kFieldSlots> slots{};
  slots.fill(Field::kUnknown);
  for (size_t i = 0; i < kFields.size(); ++i) {
    slots[FieldSlot(kFields[i].name)] = static_cast<Field>(i);
  }
  return slots;
}
constexpr std::array<Field, kFieldSlots> kFieldBySlot = MakeFieldSlots();

constexpr bool FieldSlotsArePerfect() {
  for (size_t i = 0; i < kFields.size(); ++i) {
    if (kFields[i].name.empty() || kFields[i].name.size() > kLongestFieldName ||
        kFieldBySlot[FieldSlot(kFields[i].name)] != static_cast<Field>(i)) {
      return false;
    }
  }
  return true;
}
static_assert(FieldSlotsArePerfect(),
              "two field names share a slot (or one is longer than 16 bytes): change FieldSlot");

Field LookupField(std::string_view key) {
  if (key.empty() || key.size() > kLongestFieldName) {
    return Field::kUnknown;
  }
  const Field field = kFieldBySlot[FieldSlot(key)];
  if (field == Field::kUnknown) {
    return Field::kUnknown;
  }
  const std::string_view name = kFields[static_cast<size_t>(field)].name;
  return name.size() == key.size() && SmallEqual(name.data(), key.data(), key.size())
             ? field
             : Field::kUnknown;
}

// The bits of the required fields in the `seen` mask.
constexpr uint32_t RequiredMask() {
  uint32_t mask = 0;
  for (size_t i = 0; i < kFields.size(); ++i) {
    mask |= kFields[i].required ? 1u << i : 0;
  }
  return mask;
}
constexpr uint32_t kRequiredMask = RequiredMask();

// The index in kLocationFields of a key of `location`, or -1. Their sizes
// differ, which the lookup relies on.
int LookupLocationField(std::string_view key) {
  size_t i;
  switch (key.size()) {
    case 13:
      i = 0;
      break;
    case 11:
      i = 1;
      break;
    case 6:
      i = 2;
      break;
    case 10:
      i = 3;
      break;
    default:
      return -1;
  }
  return SmallEqual(kLocationFields[i].data(), key.data(), key.size()) ? static_cast<int>(i) : -1;
}

// Whether Utf8Chars(s) > max_chars, without counting when the bytes are few
// enough: a character is at least one byte.
bool LongerThan(std::string_view s, size_t max_chars) {
  return s.size() > max_chars && Utf8Chars(s) > max_chars;
}

// The strings of one event that DecodedEvent views, as offsets into the
// batch's string scratch: the scratch may grow (and move) during the batch, so
// the views are made once the batch is done.
struct Span {
  uint32_t offset = 0;
  uint32_t size = 0;
};
struct PendingStrings {
  Span source, meter_id, type, event_id, cim_code, vendor_code;
};

std::string ReasonFor(simdjson::error_code error) {
  switch (error) {
    case simdjson::UTF8_ERROR:
      return "invalid UTF-8";
    case simdjson::UNESCAPED_CHARS:
      return "malformed JSON: unescaped control character in a string";
    case simdjson::NUMBER_ERROR:
      return "malformed JSON: invalid or out-of-range number";
    case simdjson::DEPTH_ERROR:
      return "malformed JSON: nested deeper than " + std::to_string(kMaxDepth);
    case simdjson::STRING_ERROR:
      return "malformed JSON: invalid string";
    default:
      return "malformed JSON";
  }
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
// days_from_civil).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int64_t y, int64_t m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// The value of the digit `c`, or a value above 9 when it is not one.
unsigned DigitValue(char c) { return static_cast<unsigned>(static_cast<unsigned char>(c)) - '0'; }

// The two digits at `p`, or -1 when either is not a digit.
int64_t TwoDigits(const char* p) {
  const unsigned hi = DigitValue(p[0]);
  const unsigned lo = DigitValue(p[1]);
  return hi > 9 || lo > 9 ? -1 : static_cast<int64_t>(hi * 10 + lo);
}

// ParseRfc3339UtcMs, remembering the last date it read: the timestamps of an
// event, and of the events around it, mostly fall on one day, and checking the
// date and counting its days is much of a timestamp's cost.
class TimestampParser {
 public:
  std::optional<int64_t> Parse(std::string_view s) {
    // 0123456789012345678
    // YYYY-MM-DDTHH:MM:SS
    // Fixed positions, read without a loop: this runs two or three times per
    // event.
    if (s.size() < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':') {
      return std::nullopt;
    }
    const char* p = s.data();
    int64_t days;
    if (std::memcmp(p, date_, sizeof(date_)) == 0) {
      days = days_;
    } else {
      const int64_t century = TwoDigits(p);
      const int64_t year_of_century = TwoDigits(p + 2);
      const int64_t month = TwoDigits(p + 5);
      const int64_t day = TwoDigits(p + 8);
      if ((century | year_of_century | month | day) < 0) {
        return std::nullopt;  // a non-digit
      }
      const int64_t year = century * 100 + year_of_century;
      if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month)) {
        return std::nullopt;
      }
      days = DaysFromCivil(year, month, day);
      std::memcpy(date_, p, sizeof(date_));
      days_ = days;
    }
    const int64_t hour = TwoDigits(p + 11);
    const int64_t minute = TwoDigits(p + 14);
    const int64_t second = TwoDigits(p + 17);
    if ((hour | minute | second) < 0 || hour > 23 || minute > 59 || second > 60) {
      return std::nullopt;
    }
    size_t pos = 19;
    int64_t millis = 0;
    if (s[pos] == '.') {
      const size_t first = ++pos;
      while (pos < s.size() && DigitValue(s[pos]) <= 9) {
        ++pos;
      }
      const size_t digits = pos - first;
      if (digits == 0 || digits > 9) {
        return std::nullopt;
      }
      // The first three digits, truncated rather than rounded.
      for (size_t i = 0; i < 3; ++i) {
        millis = millis * 10 + (i < digits ? DigitValue(s[first + i]) : 0);
      }
    }
    const size_t zone_size = s.size() - pos;
    if (!(zone_size == 1 && s[pos] == 'Z') &&
        !(zone_size == 6 && std::memcmp(s.data() + pos, "+00:00", 6) == 0)) {
      return std::nullopt;
    }
    return ((days * 24 + hour) * 60 + minute) * 60'000 + second * 1000 + millis;
  }

 private:
  // "YYYY-MM-DD" of the last valid date read (zeros, which match no
  // timestamp, before the first), and its days since 1970-01-01.
  char date_[10] = {};
  int64_t days_ = 0;
};

}  // namespace

std::optional<int64_t> ParseRfc3339UtcMs(std::string_view s) {
  TimestampParser parser;
  return parser.Parse(s);
}

size_t Utf8Chars(std::string_view utf8) {
  size_t n = 0;
  for (char c : utf8) {
    n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  }
  return n;
}

struct Decoder::Impl {
  simdjson::dom::parser parser;
  // One event's text with SIMDJSON_PADDING readable bytes after it.
  std::unique_ptr<char[]> padded;
  // The unescaped strings of the current batch.
  std::string strings;
  std::vector<PendingStrings> pending;
  // The bracket stack of the array splitter, and the elements it found.
  std::vector<char> brackets;
  std::vector<std::string_view> elements;

  TimestampParser timestamps;

  std::vector<DecodedEvent>* events = nullptr;
  std::vector<EventError>* errors = nullptr;
  // The end of the current body: the bytes before it are readable.
  const char* body_end = nullptr;

  Status SplitArray(std::string_view body);
  void DecodeOne(std::string_view text, size_t index, size_t line, size_t max_event_bytes);
  // Returns the refusal reason, or empty when the event is valid.
  std::string Validate(const simdjson::dom::object& object, DecodedEvent* event,
                       PendingStrings* strs);
  Span Keep(std::string_view s) {
    const Span span{static_cast<uint32_t>(strings.size()), static_cast<uint32_t>(s.size())};
    strings.append(s);
    return span;
  }
};

Result<std::unique_ptr<Decoder>> Decoder::Create(const DecodeOptions& options) {
  if (options.max_event_bytes < 2 || options.max_event_bytes > UINT32_MAX / 2) {
    return Status::InvalidArgument("max_event_bytes must be between 2 and 2^31, not " +
                                   std::to_string(options.max_event_bytes));
  }
  auto impl = std::make_unique<Impl>();
  if (impl->parser.allocate(options.max_event_bytes, kMaxDepth) != simdjson::SUCCESS) {
    return Status::ResourceExhausted("cannot allocate the JSON parser");
  }
  impl->padded = std::make_unique<char[]>(options.max_event_bytes + simdjson::SIMDJSON_PADDING);
  std::memset(impl->padded.get(), 0, options.max_event_bytes + simdjson::SIMDJSON_PADDING);
  return std::unique_ptr<Decoder>(new Decoder(options, std::move(impl)));
}

Decoder::Decoder(const DecodeOptions& options, std::unique_ptr<Impl> impl)
    : options_(options), impl_(std::move(impl)) {}

Decoder::~Decoder() = default;

Status Decoder::DecodeBatch(std::string_view body, BodyFormat format,
                            std::vector<DecodedEvent>* events, std::vector<EventError>* errors) {
  Impl& impl = *impl_;
  events->clear();
  errors->clear();
  impl.strings.clear();
  impl.pending.clear();
  impl.events = events;
  impl.errors = errors;
  impl.body_end = body.data() + body.size();

  if (body.substr(0, kBom.size()) == kBom) {
    body.remove_prefix(kBom.size());
  }
  const std::string_view trimmed = Trim(body);
  if (trimmed.empty()) {
    return Status::InvalidArgument("empty body");
  }

  if (format == BodyFormat::kNdjson) {
    size_t line = 0;
    size_t index = 0;
    size_t pos = 0;
    while (pos < body.size()) {
      const size_t nl = body.find('\n', pos);
      const size_t end = nl == std::string_view::npos ? body.size() : nl;
      ++line;
      const std::string_view text = Trim(body.substr(pos, end - pos));
      pos = end + 1;
      if (text.empty()) {
        continue;
      }
      impl.DecodeOne(text, index++, line, options_.max_event_bytes);
    }
  } else if (trimmed.front() == '{') {
    impl.DecodeOne(trimmed, 0, 0, options_.max_event_bytes);
  } else if (trimmed.front() == '[') {
    if (Status s = impl.SplitArray(trimmed); !s.ok()) {
      return s;
    }
    for (size_t i = 0; i < impl.elements.size(); ++i) {
      impl.DecodeOne(impl.elements[i], i, 0, options_.max_event_bytes);
    }
  } else {
    return Status::InvalidArgument("body is neither a JSON object nor a JSON array");
  }

  // The scratch is complete: now the views can be made.
  const char* base = impl.strings.data();
  auto view = [base](Span s) { return std::string_view(base + s.offset, s.size); };
  for (size_t i = 0; i < events->size(); ++i) {
    DecodedEvent& e = (*events)[i];
    const PendingStrings& p = impl.pending[i];
    e.source = view(p.source);
    e.meter_id = view(p.meter_id);
    e.type = view(p.type);
    e.event_id = view(p.event_id);
    e.cim_code = view(p.cim_code);
    e.vendor_code = view(p.vendor_code);
  }
  impl.events = nullptr;
  impl.errors = nullptr;
  impl.body_end = nullptr;
  return Status::Ok();
}

Status Decoder::Impl::SplitArray(std::string_view body) {
  // Precondition: body is trimmed and starts with '['.
  elements.clear();
  brackets.clear();
  size_t start = 1;
  const size_t n = body.size();
  for (size_t i = 1; i < n; ++i) {
    const char c = body[i];
    switch (c) {
      case '"':
        // Skip the string; a backslash escapes the next byte, whatever it is
        // (the element's own parse checks the escape).
        for (++i; i < n && body[i] != '"'; ++i) {
          if (body[i] == '\\') {
            ++i;
          }
        }
        if (i >= n) {
          return Status::InvalidArgument("malformed JSON array: unterminated string");
        }
        break;
      case '[':
      case '{':
        brackets.push_back(c);
        break;
      case '}':
      case ']':
        if (!brackets.empty()) {
          if (brackets.back() != (c == '}' ? '{' : '[')) {
            return Status::InvalidArgument("malformed JSON array: mismatched '" +
                                           std::string(1, c) + "' at byte " + std::to_string(i));
          }
          brackets.pop_back();
          break;
        }
        if (c == '}') {
          return Status::InvalidArgument("malformed JSON array: mismatched '}' at byte " +
                                         std::to_string(i));
        }
        {
          // The array's closing bracket.
          const std::string_view last = Trim(body.substr(start, i - start));
          if (last.empty() && !elements.empty()) {
            return Status::InvalidArgument("malformed JSON array: empty element at index " +
                                           std::to_string(elements.size()));
          }
          if (!last.empty()) {
            elements.push_back(last);
          }
          if (i + 1 != n) {
            return Status::InvalidArgument("malformed JSON array: content after the array");
          }
          return Status::Ok();
        }
      case ',':
        if (brackets.empty()) {
          const std::string_view element = Trim(body.substr(start, i - start));
          if (element.empty()) {
            return Status::InvalidArgument("malformed JSON array: empty element at index " +
                                           std::to_string(elements.size()));
          }
          elements.push_back(element);
          start = i + 1;
        }
        break;
      default:
        break;
    }
  }
  return Status::InvalidArgument("malformed JSON array: unterminated");
}

void Decoder::Impl::DecodeOne(std::string_view text, size_t index, size_t line,
                              size_t max_event_bytes) {
  auto refuse = [&](std::string reason) {
    errors->push_back(EventError{index, line, std::move(reason)});
  };
  if (text.size() > max_event_bytes) {
    refuse(std::string(line != 0 ? "line too long: " : "event too long: ") +
           std::to_string(text.size()) + " bytes, limit " + std::to_string(max_event_bytes));
    return;
  }
  // Invalid UTF-8 is the reason whatever else is wrong. The parser checks
  // all of the text, so a separate pass is needed only when the event is
  // refused for another reason first.
  auto refuse_unless_utf8 = [&](std::string reason) {
    refuse(simdjson::validate_utf8(text.data(), text.size()) ? std::move(reason)
                                                             : std::string("invalid UTF-8"));
  };
  if (text.front() != '{') {
    refuse_unless_utf8("not a JSON object");
    return;
  }
  simdjson::dom::element root;
  // The parser may read SIMDJSON_PADDING bytes past the text, but what they
  // hold does not change the result of a document that parses (simdjson's
  // contract). So an event with that many bytes of the body after it is
  // parsed where it lies, without the copy; one that fails is parsed again
  // from the zero-padded copy, so that its reason is the one it always was.
  const bool body_pads_it =
      static_cast<size_t>(body_end - (text.data() + text.size())) >= simdjson::SIMDJSON_PADDING;
  if (!body_pads_it || parser.parse(text.data(), text.size(), false).get(root)) {
    // Invariant: the padded buffer holds max_event_bytes + SIMDJSON_PADDING bytes.
    std::memcpy(padded.get(), text.data(), text.size());
    std::memset(padded.get() + text.size(), 0, simdjson::SIMDJSON_PADDING);
    if (const auto error = parser.parse(padded.get(), text.size(), false).get(root)) {
      refuse_unless_utf8(ReasonFor(error));
      return;
    }
  }
  simdjson::dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) {
    refuse("not a JSON object");
    return;
  }
  DecodedEvent event;
  event.index = index;
  event.line = line;
  event.raw = text;
  PendingStrings strs;
  const size_t strings_mark = strings.size();
  std::string reason = Validate(object, &event, &strs);
  if (!reason.empty()) {
    strings.resize(strings_mark);
    refuse(std::move(reason));
    return;
  }
  events->push_back(event);
  pending.push_back(strs);
}

std::string Decoder::Impl::Validate(const simdjson::dom::object& object, DecodedEvent* event,
                                    PendingStrings* strs) {
  uint32_t seen = 0;
  for (const simdjson::dom::key_value_pair kv : object) {
    const Field field = LookupField(kv.key);
    if (field == Field::kUnknown) {
      continue;
    }
    const FieldSpec& spec = kFields[static_cast<size_t>(field)];
    const uint32_t bit = 1u << static_cast<uint32_t>(field);
    const std::string_view name = spec.name;
    if ((seen & bit) != 0) {
      return Reason(name, "duplicate key");
    }
    seen |= bit;
    const simdjson::dom::element& value = kv.value;
    if (value.is_null()) {
      if (spec.required) {
        return Reason(name, spec.kind == Kind::kTime ? "not RFC 3339 UTC" : "not a string");
      }
      continue;  // null: as if absent (the seen bit stays, for duplicates)
    }
    switch (spec.kind) {
      case Kind::kString: {
        std::string_view s;
        if (value.get_string().get(s) != simdjson::SUCCESS) {
          return Reason(name, "not a string");
        }
        if (spec.required && s.empty()) {
          return Reason(name, "empty");
        }
        if (LongerThan(s, spec.max_chars)) {
          return Reason(name, "longer than " + std::to_string(spec.max_chars) + " characters");
        }
        switch (field) {
          case Field::kSource:
            strs->source = Keep(s);
            break;
          case Field::kMeterId:
            strs->meter_id = Keep(s);
            break;
          case Field::kType:
            strs->type = Keep(s);
            break;
          case Field::kEventId:
            strs->event_id = Keep(s);
            break;
          case Field::kCimCode:
            strs->cim_code = Keep(s);
            break;
          case Field::kVendorCode:
            strs->vendor_code = Keep(s);
            break;
          default:
            break;  // validated only, carried in the payload
        }
        break;
      }
      case Kind::kTime: {
        std::string_view s;
        std::optional<int64_t> ms;
        if (value.get_string().get(s) != simdjson::SUCCESS ||
            !(ms = timestamps.Parse(s)).has_value()) {
          return Reason(name, "not RFC 3339 UTC");
        }
        if (field == Field::kDeviceTime) {
          event->device_time_ms = *ms;
        } else if (field == Field::kHeadendTime) {
          event->headend_time_ms = *ms;
        }
        break;
      }
      case Kind::kU64:
      case Kind::kU32:
      case Kind::kU16: {
        uint64_t v = 0;
        const uint64_t max = spec.kind == Kind::kU64   ? UINT64_MAX
                             : spec.kind == Kind::kU32 ? UINT32_MAX
                                                       : UINT16_MAX;
        const bool integer = value.type() == simdjson::dom::element_type::INT64 ||
                             value.type() == simdjson::dom::element_type::UINT64;
        if (!integer || value.get_uint64().get(v) != simdjson::SUCCESS || v > max) {
          return Reason(name, spec.kind == Kind::kU64   ? "not an unsigned 64-bit integer"
                              : spec.kind == Kind::kU32 ? "not an unsigned 32-bit integer"
                                                        : "not an unsigned 16-bit integer");
        }
        if (field == Field::kSourceSeq) {
          event->source_seq = v;
        }
        break;
      }
      case Kind::kNumber:
        if (!value.is_number()) {
          return Reason(name, "not a number");
        }
        break;
      case Kind::kPriority: {
        std::string_view s;
        if (value.get_string().get(s) != simdjson::SUCCESS) {
          return Reason(name, "not a string");
        }
        event->priority = ParsePriority(s);
        if (!event->priority.has_value()) {
          return Reason(name, "not one of critical, high, normal, low");
        }
        break;
      }
      case Kind::kLocation: {
        simdjson::dom::object location;
        if (value.get_object().get(location) != simdjson::SUCCESS) {
          return Reason(name, "not an object");
        }
        for (const simdjson::dom::key_value_pair loc : location) {
          const int known = LookupLocationField(loc.key);
          if (known < 0) {
            continue;
          }
          const std::string_view known_name = kLocationFields[static_cast<size_t>(known)];
          std::string_view s;
          if (loc.value.get_string().get(s) != simdjson::SUCCESS) {
            return "location." + std::string(known_name) + ": not a string";
          }
          if (LongerThan(s, kMaxLocationFieldChars)) {
            return "location." + std::string(known_name) + ": longer than " +
                   std::to_string(kMaxLocationFieldChars) + " characters";
          }
        }
        break;
      }
    }
  }
  if (const uint32_t missing = kRequiredMask & ~seen; missing != 0) {
    // The first missing one in kFields order.
    return std::string(kFields[static_cast<size_t>(std::countr_zero(missing))].name) + ": missing";
  }
  return {};
}

}  // namespace gridgate::event
