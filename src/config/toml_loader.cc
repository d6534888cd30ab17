// The only file that includes toml++: the header is large, so it is parsed
// once per build, and its exceptions are caught here and never leave.

#include "config/toml_loader.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <exception>
#include <fstream>
#include <limits>
#include <optional>
#include <span>
#include <sstream>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/errno_text.h"

namespace gridgate::config {
namespace {

constexpr int64_t kMaxInt = std::numeric_limits<int64_t>::max();
constexpr int64_t kMaxU32 = std::numeric_limits<uint32_t>::max();
constexpr int64_t kDayMs = 86'400'000;

// ---------------------------------------------------------------------------
// Values as TOML text, for RenderConfigToml and for error messages.

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          static constexpr char kHex[] = "0123456789ABCDEF";
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
  return out;
}

// A key as TOML writes it: bare when it can be, quoted otherwise ("1.2.3.4").
std::string RenderKey(std::string_view key) {
  const bool bare = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
  return bare ? std::string(key) : Quote(key);
}

// The shortest text that reads back as the same double, always a TOML float.
std::string RenderDouble(double d) {
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), d);
  std::string s(buf, ec == std::errc() ? end : buf);
  if (s.find_first_of(".en") == std::string::npos) {  // "1" -> "1.0"; inf/nan as they are
    s += ".0";
  }
  return s;
}

std::string_view TypeName(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table:
      return "table";
    case toml::node_type::array:
      return "array";
    case toml::node_type::string:
      return "string";
    case toml::node_type::integer:
      return "integer";
    case toml::node_type::floating_point:
      return "float";
    case toml::node_type::boolean:
      return "boolean";
    case toml::node_type::date:
      return "date";
    case toml::node_type::time:
      return "time";
    case toml::node_type::date_time:
      return "date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

Status TypeError(const std::string& key, std::string_view expected, const toml::node& got) {
  return Status::InvalidArgument(key + ": expected " + std::string(expected) + ", got " +
                                 std::string(TypeName(got)));
}

template <typename T>
Status RangeError(const std::string& key, const std::string& value, T min, T max) {
  std::string lo, hi;
  if constexpr (std::is_floating_point_v<T>) {
    lo = RenderDouble(min);
    hi = RenderDouble(max);
  } else {
    lo = std::to_string(min);
    hi = std::to_string(max);
  }
  return Status::InvalidArgument(key + ": " + value + " is out of range [" + lo + ", " + hi + "]");
}

// ---------------------------------------------------------------------------
// The keys. One table drives loading, overrides, printing and the
// unknown-key check, so that a key cannot be readable and not printable. The
// table is plain data (a kind and the member's address) rather than a lambda
// pair per key: the same behaviour in a fraction of the compile time.

enum class Kind : uint8_t {
  kU32,
  kU64,
  kI64,
  kNumber,  // double
  kBool,
  kString,         // std::string, see StringRule
  kEnum,           // a uint8_t enum whose value i is names[i]
  kStringList,     // std::vector<std::string>
  kPriorityTable,  // std::map<std::string, Priority>: a table of free keys
  kTypeTable,      // std::map<std::string, std::string> of code -> type
};

enum class StringRule : uint8_t { kAny, kNonEmpty, kListen };

using Member = void* (*)(GatewayConfig*);

struct Field {
  std::string_view key;  // "http.listen"
  Kind kind;
  Member member;    // the address of the member in a GatewayConfig
  int64_t min = 0;  // integers and numbers
  int64_t max = 0;
  StringRule rule = StringRule::kAny;
  std::span<const std::string_view> names;  // kEnum
  size_t max_key_chars = 0;                 // tables

  bool is_table() const { return kind == Kind::kPriorityTable || kind == Kind::kTypeTable; }
  bool wants_string() const { return kind == Kind::kString || kind == Kind::kEnum; }

  template <typename T>
  T& Get(GatewayConfig* c) const {
    return *static_cast<T*>(member(c));
  }
  template <typename T>
  const T& Get(const GatewayConfig& c) const {
    return *static_cast<const T*>(member(const_cast<GatewayConfig*>(&c)));
  }
};

template <typename T>
constexpr Kind IntKind() {
  if constexpr (std::is_same_v<T, uint32_t>) {
    return Kind::kU32;
  } else if constexpr (std::is_same_v<T, uint64_t>) {
    return Kind::kU64;
  } else {
    static_assert(std::is_same_v<T, int64_t>, "an integer key is uint32_t, uint64_t or int64_t");
    return Kind::kI64;
  }
}

// The member's type decides the kind, so a key cannot write the wrong width.
#define GG_MEMBER(path) [](GatewayConfig* c) -> void* { return &c->path; }
#define GG_TYPE(path) decltype(std::declval<GatewayConfig>().path)
#define GG_INT(k, path, lo, hi)                                                                 \
  Field {                                                                                       \
    .key = k, .kind = IntKind<GG_TYPE(path)>(), .member = GG_MEMBER(path), .min = lo, .max = hi \
  }
// The kind `k`, after checking that the member is of type Want.
template <typename T, typename Want>
constexpr Kind KindOf(Kind k) {
  static_assert(std::is_same_v<T, Want>, "the key's kind does not fit its member");
  return k;
}

template <typename T>
constexpr Kind EnumKind() {
  static_assert(std::is_enum_v<T> && sizeof(T) == 1, "an enum key is a uint8_t enum");
  return Kind::kEnum;
}

#define GG_NUMBER(k, path)                                                                     \
  Field {                                                                                      \
    .key = k, .kind = KindOf<GG_TYPE(path), double>(Kind::kNumber), .member = GG_MEMBER(path), \
    .min = 0, .max = 1                                                                         \
  }
#define GG_BOOL(k, path) \
  Field { .key = k, .kind = KindOf<GG_TYPE(path), bool>(Kind::kBool), .member = GG_MEMBER(path) }
#define GG_STRING(k, path, string_rule)                                  \
  Field {                                                                \
    .key = k, .kind = KindOf<GG_TYPE(path), std::string>(Kind::kString), \
    .member = GG_MEMBER(path), .rule = string_rule                       \
  }
#define GG_ENUM(k, path, enum_names)                                                            \
  Field {                                                                                       \
    .key = k, .kind = EnumKind<GG_TYPE(path)>(), .member = GG_MEMBER(path), .names = enum_names \
  }

constexpr std::string_view kFsyncNames[] = {"never", "interval", "batch"};
static_assert(static_cast<int>(spill::FsyncPolicy::kNever) == 0 &&
                  static_cast<int>(spill::FsyncPolicy::kInterval) == 1 &&
                  static_cast<int>(spill::FsyncPolicy::kEveryBatch) == 2,
              "kFsyncNames follows FsyncPolicy");
constexpr std::string_view kModeNames[] = {"overflow", "write_through"};
static_assert(static_cast<int>(spill::DurabilityMode::kWriteThrough) == 1,
              "kModeNames follows DurabilityMode");
constexpr std::string_view kSinkNames[] = {"file", "stdout", "http"};
static_assert(static_cast<int>(SinkType::kHttp) == 2, "kSinkNames follows SinkType");
constexpr std::string_view kLevelNames[] = {"trace", "debug", "info", "warn", "error"};
static_assert(static_cast<int>(LogLevel::kError) == 4, "kLevelNames follows LogLevel");
constexpr std::string_view kPriorityNames[] = {"critical", "high", "normal", "low"};
static_assert(static_cast<int>(Priority::kLow) == 3, "kPriorityNames follows Priority");

// The order of docs/configuration.md, and of --print-config. Keys of a
// section come before its sub-tables (TOML needs [sink] before [sink.file]).
const Field kFields[] = {
    GG_STRING("http.listen", http.listen, StringRule::kListen),
    GG_INT("http.max_body_bytes", http.max_body_bytes, 1, int64_t{1} << 30),
    GG_INT("http.max_connections", http.max_connections, 1, 1'000'000),
    GG_INT("http.idle_timeout_ms", http.idle_timeout_ms, 1, kDayMs),

    GG_STRING("tcp.listen", tcp.listen, StringRule::kListen),
    GG_INT("tcp.max_line_bytes", tcp.max_line_bytes, 2, int64_t{64} << 20),
    GG_INT("tcp.max_connections", tcp.max_connections, 1, 1'000'000),
    GG_INT("tcp.idle_timeout_ms", tcp.idle_timeout_ms, 1, kDayMs),

    GG_STRING("admin.listen", admin.listen, StringRule::kListen),

    GG_INT("events.max_event_bytes", events.max_event_bytes, 2, int64_t{16} << 20),

    GG_INT("memory.budget_bytes", memory.budget_bytes, 1, kMaxInt),
    GG_NUMBER("memory.high_watermark", memory.high_watermark),
    GG_NUMBER("memory.low_watermark", memory.low_watermark),
    GG_NUMBER("memory.critical_reserve", memory.critical_reserve),
    GG_NUMBER("memory.high_reserve", memory.high_reserve),
    GG_INT("memory.slab_bytes", memory.slab_bytes, 1, int64_t{1} << 30),
    GG_INT("memory.release_quiet_period_ms", memory.release_quiet_period_ms, 0, kDayMs),
    GG_INT("memory.retry_after_min_ms", memory.retry_after_min_ms, 0, kDayMs),
    GG_INT("memory.retry_after_max_ms", memory.retry_after_max_ms, 0, kDayMs),
    GG_INT("memory.retry_after_default_ms", memory.retry_after_default_ms, 0, kDayMs),

    GG_BOOL("spill.enabled", spill.enabled),
    GG_STRING("spill.dir", spill.dir, StringRule::kNonEmpty),
    GG_INT("spill.segment_bytes", spill.segment_bytes, 1, kMaxInt),
    GG_INT("spill.block_bytes", spill.block_bytes, 1, int64_t{1} << 30),
    GG_INT("spill.disk_budget_bytes", spill.disk_budget_bytes, 0, kMaxInt),
    GG_ENUM("spill.fsync", spill.fsync, kFsyncNames),
    GG_INT("spill.fsync_interval_ms", spill.fsync_interval_ms, 0, kDayMs),
    GG_ENUM("spill.mode", spill.mode, kModeNames),

    GG_INT("dispatch.max_batch_events", dispatch.max_batch_events, 1, 1'000'000),
    GG_INT("dispatch.max_batch_bytes", dispatch.max_batch_bytes, 1, int64_t{1} << 30),
    GG_INT("dispatch.pop_timeout_ms", dispatch.pop_timeout_ms, 1, 60'000),
    GG_INT("dispatch.backoff_initial_ms", dispatch.backoff_initial_ms, 1, kDayMs),
    GG_INT("dispatch.backoff_max_ms", dispatch.backoff_max_ms, 1, kDayMs),

    GG_ENUM("sink.type", sink.type, kSinkNames),
    GG_STRING("sink.file.path", sink.file.path, StringRule::kNonEmpty),
    GG_INT("sink.file.max_file_bytes", sink.file.max_file_bytes, 1, kMaxInt),
    GG_INT("sink.file.max_files", sink.file.max_files, 1, 10'000),
    GG_BOOL("sink.file.fsync_each_batch", sink.file.fsync_each_batch),
    GG_STRING("sink.http.url", sink.http.url, StringRule::kAny),
    GG_INT("sink.http.timeout_ms", sink.http.timeout_ms, 1, 600'000),

    Field{.key = "classifier.trusted_sources",
          .kind = KindOf<GG_TYPE(classifier.trusted_sources), std::vector<std::string>>(
              Kind::kStringList),
          .member = GG_MEMBER(classifier.trusted_sources)},
    Field{.key = "classifier.types",
          .kind = Kind::kPriorityTable,
          .member = GG_MEMBER(classifier.types),
          .max_key_chars = event::kMaxTypeChars},
    Field{.key = "classifier.cim_codes",
          .kind = Kind::kTypeTable,
          .member = GG_MEMBER(classifier.cim_codes),
          .max_key_chars = event::kMaxCimCodeChars},
    Field{.key = "classifier.vendor_codes",
          .kind = Kind::kTypeTable,
          .member = GG_MEMBER(classifier.vendor_codes),
          .max_key_chars = event::kMaxVendorCodeChars},

    GG_ENUM("log.level", log.level, kLevelNames),
};
static_assert(kMaxU32 >= kDayMs && kMaxU32 >= 10'000, "the ranges of uint32_t keys fit");

#undef GG_ENUM
#undef GG_STRING
#undef GG_BOOL
#undef GG_NUMBER
#undef GG_INT
#undef GG_TYPE
#undef GG_MEMBER

std::string OneOf(std::span<const std::string_view> names) {
  std::string out;
  for (std::string_view name : names) {
    out += (out.empty() ? "" : ", ") + Quote(name);
  }
  return out;
}

// Sets a value key from `n`; `key` is the name for messages.
Status SetValue(const Field& f, GatewayConfig* c, const toml::node& n, const std::string& key) {
  switch (f.kind) {
    case Kind::kU32:
    case Kind::kU64:
    case Kind::kI64: {
      const toml::value<int64_t>* v = n.as_integer();
      if (v == nullptr) {
        return TypeError(key, "an integer", n);
      }
      const int64_t x = v->get();
      if (x < f.min || x > f.max) {
        return RangeError(key, std::to_string(x), f.min, f.max);
      }
      if (f.kind == Kind::kU32) {
        f.Get<uint32_t>(c) = static_cast<uint32_t>(x);
      } else if (f.kind == Kind::kU64) {
        f.Get<uint64_t>(c) = static_cast<uint64_t>(x);
      } else {
        f.Get<int64_t>(c) = x;
      }
      return Status::Ok();
    }
    case Kind::kNumber: {
      double x;
      if (const auto* i = n.as_integer()) {
        x = static_cast<double>(i->get());
      } else if (const auto* d = n.as_floating_point()) {
        x = d->get();
      } else {
        return TypeError(key, "a number", n);
      }
      const auto lo = static_cast<double>(f.min);
      const auto hi = static_cast<double>(f.max);
      if (!(x >= lo && x <= hi)) {  // also refuses nan
        return RangeError(key, RenderDouble(x), lo, hi);
      }
      f.Get<double>(c) = x;
      return Status::Ok();
    }
    case Kind::kBool: {
      const toml::value<bool>* v = n.as_boolean();
      if (v == nullptr) {
        return TypeError(key, "a boolean (true or false)", n);
      }
      f.Get<bool>(c) = v->get();
      return Status::Ok();
    }
    case Kind::kString: {
      const toml::value<std::string>* v = n.as_string();
      if (v == nullptr) {
        return TypeError(key, "a string", n);
      }
      const std::string& s = v->get();
      if (f.rule == StringRule::kNonEmpty && s.empty()) {
        return Status::InvalidArgument(key + ": must not be empty");
      }
      if (f.rule == StringRule::kListen) {
        if (Result<HostPort> hp = ParseListen(s, key); !hp.ok()) {
          return hp.status();
        }
      }
      f.Get<std::string>(c) = s;
      return Status::Ok();
    }
    case Kind::kEnum: {
      const toml::value<std::string>* v = n.as_string();
      if (v == nullptr) {
        return TypeError(key, "a string", n);
      }
      for (size_t i = 0; i < f.names.size(); ++i) {
        if (v->get() == f.names[i]) {
          f.Get<uint8_t>(c) = static_cast<uint8_t>(i);
          return Status::Ok();
        }
      }
      return Status::InvalidArgument(key + ": '" + v->get() + "' is not one of " + OneOf(f.names));
    }
    case Kind::kStringList: {
      const toml::array* a = n.as_array();
      if (a == nullptr) {
        return TypeError(key, "an array of strings", n);
      }
      std::vector<std::string> out;
      for (size_t i = 0; i < a->size(); ++i) {
        const toml::value<std::string>* s = (*a)[i].as_string();
        if (s == nullptr) {
          return TypeError(key + "[" + std::to_string(i) + "]", "a string", (*a)[i]);
        }
        out.push_back(s->get());
      }
      f.Get<std::vector<std::string>>(c) = std::move(out);
      return Status::Ok();
    }
    case Kind::kPriorityTable:
    case Kind::kTypeTable:
      break;
  }
  return TypeError(key, "a table", n);
}

// Sets one entry of a table key; `key` is the entry's full name for messages.
// Entries merge over what the map holds.
Status SetEntry(const Field& f, GatewayConfig* c, const std::string& entry, const toml::node& n,
                const std::string& key) {
  if (entry.empty() || event::Utf8Chars(entry) > f.max_key_chars) {
    return Status::InvalidArgument(key + ": the key must be 1 to " +
                                   std::to_string(f.max_key_chars) + " characters");
  }
  const toml::value<std::string>* v = n.as_string();
  if (v == nullptr) {
    return TypeError(key, "a string", n);
  }
  const std::string& text = v->get();
  if (f.kind == Kind::kPriorityTable) {
    const std::optional<Priority> p = ParsePriority(text);
    if (!p.has_value()) {
      return Status::InvalidArgument(key + ": '" + text + "' is not one of " +
                                     OneOf(kPriorityNames));
    }
    f.Get<std::map<std::string, Priority>>(c).insert_or_assign(entry, *p);
    return Status::Ok();
  }
  if (text.empty()) {
    return Status::InvalidArgument(key + ": must name an event type");
  }
  // That the type exists is checked with the whole config (ValidateConfig).
  f.Get<std::map<std::string, std::string>>(c).insert_or_assign(entry, text);
  return Status::Ok();
}

// A value key's value as TOML text.
std::string RenderValue(const Field& f, const GatewayConfig& c) {
  switch (f.kind) {
    case Kind::kU32:
      return std::to_string(f.Get<uint32_t>(c));
    case Kind::kU64:
      return std::to_string(f.Get<uint64_t>(c));
    case Kind::kI64:
      return std::to_string(f.Get<int64_t>(c));
    case Kind::kNumber:
      return RenderDouble(f.Get<double>(c));
    case Kind::kBool:
      return f.Get<bool>(c) ? "true" : "false";
    case Kind::kString:
      return Quote(f.Get<std::string>(c));
    case Kind::kEnum: {
      const uint8_t i = f.Get<uint8_t>(c);
      return Quote(i < f.names.size() ? f.names[i] : "unknown");
    }
    case Kind::kStringList: {
      std::string out = "[";
      for (const std::string& s : f.Get<std::vector<std::string>>(c)) {
        out += (out.size() > 1 ? ", " : "") + Quote(s);
      }
      return out + "]";
    }
    case Kind::kPriorityTable:
    case Kind::kTypeTable:
      break;
  }
  return "";
}

// A table key's entries, as "key = value" lines.
std::string RenderEntries(const Field& f, const GatewayConfig& c) {
  std::string out;
  if (f.kind == Kind::kPriorityTable) {
    for (const auto& [k, p] : f.Get<std::map<std::string, Priority>>(c)) {
      out += RenderKey(k) + " = " + Quote(PriorityName(p)) + "\n";
    }
  } else {
    for (const auto& [k, type] : f.Get<std::map<std::string, std::string>>(c)) {
      out += RenderKey(k) + " = " + Quote(type) + "\n";
    }
  }
  return out;
}

const std::span<const Field> Fields() { return kFields; }

const Field* FindField(std::string_view key) {
  for (const Field& f : Fields()) {
    if (f.key == key) {
      return &f;
    }
  }
  return nullptr;
}

// The section of a value key ("sink.file" for "sink.file.path"); a table
// field is a section of its own.
std::string_view SectionOf(const Field& f) {
  if (f.is_table()) {
    return f.key;
  }
  return std::string_view(f.key).substr(0, f.key.rfind('.'));
}

// True when `key` names a table that holds fields ("http", "sink", "sink.file").
bool IsSection(std::string_view key) {
  for (const Field& f : Fields()) {
    const std::string_view section = SectionOf(f);
    if (!f.is_table() && (section == key || section.starts_with(std::string(key) + "."))) {
      return true;
    }
  }
  return false;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) {
    row[j] = j;
  }
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

Status UnknownKey(const std::string& key) {
  std::string best;
  size_t best_distance = 3;  // suggest only close misspellings
  auto consider = [&](std::string_view candidate) {
    const size_t d = EditDistance(key, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = std::string(candidate);
    }
  };
  for (const Field& f : Fields()) {
    consider(f.key);
    consider(SectionOf(f));
  }
  std::string message = "unknown key '" + key + "'";
  if (!best.empty()) {
    message += " (did you mean '" + best + "'?)";
  }
  return Status::InvalidArgument(message);
}

// Where a key was read from: " (line 3)" or " (gateway.toml line 3)".
struct Origin {
  bool located = false;  // false for overrides
  std::string file;      // empty for a string
};

Status Locate(const Status& s, const toml::source_region& where, const Origin& origin) {
  if (s.ok() || !origin.located || where.begin.line == 0) {
    return s;
  }
  std::string at = " (";
  if (!origin.file.empty()) {
    at += origin.file + " ";
  }
  at += "line " + std::to_string(where.begin.line) + ")";
  return Status::InvalidArgument(s.message() + at);
}

std::string JoinKey(const std::string& prefix, std::string_view key) {
  return prefix.empty() ? std::string(key) : prefix + "." + std::string(key);
}

Status ApplyEntries(const Field& f, GatewayConfig* c, const toml::node& n, const Origin& origin) {
  const toml::table* entries = n.as_table();
  if (entries == nullptr) {
    return TypeError(std::string(f.key), "a table", n);
  }
  for (auto&& [entry, value] : *entries) {
    const std::string entry_key = std::string(f.key) + "." + RenderKey(entry.str());
    if (Status s = SetEntry(f, c, std::string(entry.str()), value, entry_key); !s.ok()) {
      return Locate(s, entry.source(), origin);
    }
  }
  return Status::Ok();
}

Status ApplyTable(GatewayConfig* c, const toml::table& table, const std::string& prefix,
                  const Origin& origin) {
  for (auto&& [k, v] : table) {
    const std::string key = JoinKey(prefix, k.str());
    if (const Field* f = FindField(key)) {
      if (f->is_table()) {
        if (!v.is_table()) {
          return Locate(TypeError(key, "a table", v), k.source(), origin);
        }
        if (Status s = ApplyEntries(*f, c, v, origin); !s.ok()) {
          return s;
        }
      } else if (Status s = SetValue(*f, c, v, key); !s.ok()) {
        return Locate(s, k.source(), origin);
      }
    } else if (IsSection(key)) {
      const toml::table* sub = v.as_table();
      if (sub == nullptr) {
        return Locate(TypeError(key, "a table", v), k.source(), origin);
      }
      if (Status s = ApplyTable(c, *sub, key, origin); !s.ok()) {
        return s;
      }
    } else {
      return Locate(UnknownKey(key), k.source(), origin);
    }
  }
  return Status::Ok();
}

Result<GatewayConfig> Load(std::string_view text, const Origin& origin) {
  try {
    toml::table doc;
    try {
      doc = toml::parse(text, origin.file);
    } catch (const toml::parse_error& e) {
      const toml::source_position& at = e.source().begin;
      std::string where =
          origin.file.empty()
              ? "line " + std::to_string(at.line) + ", column " + std::to_string(at.column)
              : origin.file + ":" + std::to_string(at.line) + ":" + std::to_string(at.column);
      return Status::InvalidArgument(where +
                                     ": TOML syntax error: " + std::string(e.description()));
    }
    GatewayConfig config;
    if (Status s = ApplyTable(&config, doc, "", origin); !s.ok()) {
      return s;
    }
    if (Status s = ValidateConfig(config); !s.ok()) {
      return s;
    }
    return config;
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("reading the configuration failed: ") + e.what());
  }
}

}  // namespace

Result<GatewayConfig> LoadConfigString(std::string_view text) {
  return Load(text, Origin{.located = true});
}

Result<GatewayConfig> LoadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::IoError("cannot read config file '" + path + "': " + ErrnoText(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return Status::IoError("cannot read config file '" + path + "': " + ErrnoText(errno));
  }
  return Load(text.str(), Origin{.located = true, .file = path});
}

Status ApplyOverride(GatewayConfig* config, std::string_view dotted_key, std::string_view value) {
  try {
    const std::string key(dotted_key);
    const Field* field = FindField(key);
    const Field* table = nullptr;  // for "classifier.types.<entry>"
    std::string entry;
    if (field == nullptr) {
      for (const Field& f : Fields()) {
        if (f.is_table() && key.starts_with(std::string(f.key) + ".")) {
          table = &f;
          entry = key.substr(f.key.size() + 1);
          break;
        }
      }
      if (table == nullptr) {
        return UnknownKey(key);
      }
      // A quoted entry, as --print-config writes it: classifier.cim_codes."1.2.3".
      if (entry.size() >= 2 && entry.front() == '"' && entry.back() == '"') {
        entry = entry.substr(1, entry.size() - 2);
      }
    }

    // The value as TOML, when it is one TOML value on one line.
    std::optional<toml::table> parsed;
    if (value.find_first_of("\r\n") == std::string_view::npos) {
      try {
        parsed = toml::parse("v = " + std::string(value));
      } catch (const toml::parse_error&) {
        // Not TOML: a bare string.
      }
    }
    const toml::node* node = nullptr;
    if (parsed.has_value() && parsed->size() == 1) {
      node = parsed->get("v");
    }
    const bool wants_string = table != nullptr || field->wants_string();
    const toml::value<std::string> bare{std::string(value)};
    if (node == nullptr || (wants_string && !node->is_string())) {
      node = &bare;
    }

    GatewayConfig changed = *config;
    Status s;
    if (table != nullptr) {
      s = SetEntry(*table, &changed, entry, *node,
                   std::string(table->key) + "." + RenderKey(entry));
    } else if (field->is_table()) {
      s = ApplyEntries(*field, &changed, *node, Origin{});
    } else {
      s = SetValue(*field, &changed, *node, key);
    }
    if (s.ok()) {
      *config = std::move(changed);
    }
    return s;
  } catch (const std::exception& e) {
    return Status::InvalidArgument("--set " + std::string(dotted_key) + ": " + e.what());
  }
}

std::string RenderConfigToml(const GatewayConfig& config) {
  std::string out =
      "# gridgate configuration: every key with its effective value.\n"
      "# Reference: docs/configuration.md\n";
  std::string_view section;
  for (const Field& f : Fields()) {
    if (SectionOf(f) != section) {
      section = SectionOf(f);
      out += "\n[" + std::string(section) + "]\n";
    }
    if (f.is_table()) {
      out += RenderEntries(f, config);
    } else {
      out += std::string(f.key.substr(section.size() + 1)) + " = " + RenderValue(f, config) + "\n";
    }
  }
  return out;
}

}  // namespace gridgate::config
