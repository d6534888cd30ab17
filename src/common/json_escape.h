#pragma once

#include <string>
#include <string_view>

namespace gridgate {

// A JSON string escaper for bytes that may or may not be UTF-8 (RFC 8259).
//
//   - `"` and `\` become `\"` and `\\`.
//   - Control characters (0x00..0x1F) become `\u00XX` (lowercase hex), the
//     common ones included: a newline is `\u000a`, not `\n`.
//   - Bytes >= 0x80 that form a valid UTF-8 sequence (RFC 3629: shortest form,
//     no surrogates, at most U+10FFFF) are copied as they are.
//   - Every other byte >= 0x80 (a stray continuation byte, a truncated or
//     overlong sequence, a surrogate, 0xF5..0xFF) becomes `\u00XX` of that
//     byte, and escaping resumes at the next byte.
//
// The output is always valid UTF-8 and valid JSON. The last rule is lossy in
// one way a reader must know: a JSON parser turns `\u00e9` into U+00E9, the
// same character that valid input "\xc3\xa9" gives, so after parsing the two
// cannot be told apart. In the raw output they can: valid UTF-8 is never
// escaped, so a `\u0080`..`\u00ff` escape always stands for one invalid byte.
//
// Thread-safe (no state). Allocates only by growing `out`.

// Appends `bytes`, escaped, to `*out` (without surrounding quotes).
void AppendJsonEscaped(std::string_view bytes, std::string* out);

// Appends `bytes` to `*out` as a quoted JSON string.
void AppendJsonString(std::string_view bytes, std::string* out);

// `bytes` as a quoted JSON string.
std::string JsonString(std::string_view bytes);

}  // namespace gridgate
