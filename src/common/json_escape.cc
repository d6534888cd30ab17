#include "common/json_escape.h"

#include <cstddef>
#include <cstdint>

namespace gridgate {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

void AppendByteEscape(uint8_t byte, std::string* out) {
  const char escape[6] = {'\\', 'u', '0', '0', kHexDigits[byte >> 4], kHexDigits[byte & 0xF]};
  out->append(escape, sizeof(escape));
}

bool IsContinuation(uint8_t byte) { return (byte & 0xC0) == 0x80; }

// The length of the valid UTF-8 sequence that starts with the byte >= 0x80 at
// `s[i]`, or 0 when there is none. The ranges of the second byte are those of
// RFC 3629's table: they rule out overlong forms (E0, F0), surrogates (ED)
// and code points past U+10FFFF (F4).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto at = [&](size_t k) { return static_cast<uint8_t>(s[i + k]); };
  const uint8_t lead = at(0);
  size_t length = 0;
  uint8_t second_min = 0x80;
  uint8_t second_max = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    second_min = lead == 0xE0 ? 0xA0 : 0x80;
    second_max = lead == 0xED ? 0x9F : 0xBF;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    second_min = lead == 0xF0 ? 0x90 : 0x80;
    second_max = lead == 0xF4 ? 0x8F : 0xBF;
  } else {
    return 0;  // a continuation byte, C0/C1 (always overlong) or F5..FF
  }
  if (s.size() - i < length || at(1) < second_min || at(1) > second_max) {
    return 0;
  }
  for (size_t k = 2; k < length; ++k) {
    if (!IsContinuation(at(k))) {
      return 0;
    }
  }
  return length;
}

}  // namespace

void AppendJsonEscaped(std::string_view bytes, std::string* out) {
  size_t i = 0;
  while (i < bytes.size()) {
    // Copy the longest run that needs no escaping in one append.
    size_t run = i;
    while (run < bytes.size()) {
      const uint8_t c = static_cast<uint8_t>(bytes[run]);
      if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) {
        break;
      }
      ++run;
    }
    out->append(bytes.data() + i, run - i);
    i = run;
    if (i == bytes.size()) {
      break;
    }
    const uint8_t c = static_cast<uint8_t>(bytes[i]);
    const size_t utf8_length = c >= 0x80 ? Utf8SequenceLength(bytes, i) : 0;
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
      ++i;
    } else if (utf8_length > 0) {
      out->append(bytes.data() + i, utf8_length);
      i += utf8_length;
    } else {
      // A control character, or a byte that does not start valid UTF-8.
      AppendByteEscape(c, out);
      ++i;
    }
  }
}

void AppendJsonString(std::string_view bytes, std::string* out) {
  out->push_back('"');
  AppendJsonEscaped(bytes, out);
  out->push_back('"');
}

std::string JsonString(std::string_view bytes) {
  std::string out;
  AppendJsonString(bytes, &out);
  return out;
}

}  // namespace gridgate
