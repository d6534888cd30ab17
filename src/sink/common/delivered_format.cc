#include "sink/common/delivered_format.h"

#include <charconv>
#include <cstddef>
#include <string_view>

#include "common/json_escape.h"
#include "event/priority.h"

namespace gridgate::sink {
namespace {

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

void AppendUnsigned(uint64_t value, std::string* out) {
  char buf[20];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  out->append(buf, end);
}

// `value` (0 <= value < 10^digits) with leading zeros.
void AppendPadded(int64_t value, int digits, std::string* out) {
  char buf[8];
  for (int i = digits - 1; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out->append(buf, static_cast<size_t>(digits));
}

// Copies `bytes`, with every CR and LF turned into a space: NDJSON framing.
void AppendOneLine(std::string_view bytes, std::string* out) {
  const size_t start = out->size();
  out->append(bytes);
  for (size_t i = start; i < out->size(); ++i) {
    char& c = (*out)[i];
    if (c == '\n' || c == '\r') {
      c = ' ';
    }
  }
}

}  // namespace

void AppendRfc3339Millis(int64_t unix_ns, std::string* out) {
  constexpr int64_t kNsPerMs = 1'000'000;
  constexpr int64_t kMsPerDay = 86'400'000;
  // Floor divisions, so that a time before 1970 still has a non-negative
  // time of day. int64 nanoseconds span the years 1677..2262, so the year
  // always has four digits.
  int64_t ms = unix_ns / kNsPerMs;
  if (unix_ns % kNsPerMs < 0) {
    --ms;
  }
  int64_t days = ms / kMsPerDay;
  int64_t ms_of_day = ms % kMsPerDay;
  if (ms_of_day < 0) {
    ms_of_day += kMsPerDay;
    --days;
  }
  // Civil date from days since 1970-01-01 (Howard Hinnant's civil_from_days).
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);

  AppendPadded(year, 4, out);
  out->push_back('-');
  AppendPadded(month, 2, out);
  out->push_back('-');
  AppendPadded(day, 2, out);
  out->push_back('T');
  AppendPadded(ms_of_day / 3'600'000, 2, out);
  out->push_back(':');
  AppendPadded(ms_of_day / 60'000 % 60, 2, out);
  out->push_back(':');
  AppendPadded(ms_of_day / 1000 % 60, 2, out);
  out->push_back('.');
  AppendPadded(ms_of_day % 1000, 3, out);
  out->push_back('Z');
}

void AppendDeliveredLine(const Event& event, std::string* out) {
  out->append("{\"gateway_seq\":");
  AppendUnsigned(event.seq.value, out);
  out->append(",\"gateway_ingest_time\":\"");
  AppendRfc3339Millis(event.ingest_time_ns, out);
  out->append("\",\"gateway_priority\":\"");
  out->append(PriorityName(event.priority));
  out->push_back('"');

  std::string_view payload = event.payload;
  size_t open = 0;
  while (open < payload.size() && IsJsonSpace(payload[open])) {
    ++open;
  }
  if (open < payload.size() && payload[open] == '{') {
    std::string_view rest = payload.substr(open + 1);
    size_t first = 0;
    while (first < rest.size() && IsJsonSpace(rest[first])) {
      ++first;
    }
    // `{}` (or `{ }`): the sender has no fields, so no comma before them.
    const bool empty_object = first < rest.size() && rest[first] == '}';
    if (!empty_object) {
      out->push_back(',');
    }
    AppendOneLine(rest, out);
  } else {
    out->append(",\"payload\":");
    AppendJsonString(payload, out);
    out->push_back('}');
  }
  out->push_back('\n');
}

}  // namespace gridgate::sink
