#include "common/json_escape.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace gridgate {
namespace {

std::string Escape(std::string_view bytes) {
  std::string out;
  AppendJsonEscaped(bytes, &out);
  return out;
}

TEST(JsonEscapeTest, PlainAsciiIsCopied) {
  EXPECT_EQ(Escape(""), "");
  EXPECT_EQ(Escape("interval_reading 42 {}[]:,/~\x7f"), "interval_reading 42 {}[]:,/~\x7f");
}

TEST(JsonEscapeTest, QuotesAndBackslashesAreEscaped) {
  EXPECT_EQ(Escape(R"({"id":1,"path":"C:\meter"})"), R"({\"id\":1,\"path\":\"C:\\meter\"})");
  EXPECT_EQ(JsonString(R"(a"b\c)"), R"("a\"b\\c")");
}

TEST(JsonEscapeTest, EveryControlCharacterIsAUnicodeEscape) {
  for (int c = 0; c < 0x20; ++c) {
    char expected[8];
    std::snprintf(expected, sizeof(expected), "\\u%04x", c);
    EXPECT_EQ(Escape(std::string(1, static_cast<char>(c))), expected) << c;
  }
  EXPECT_EQ(Escape(std::string("a\0b\nc", 5)), "a\\u0000b\\u000ac");
}

TEST(JsonEscapeTest, ValidUtf8PassesThrough) {
  const std::string text =
      "\xc3\xa9"          // U+00E9, two bytes
      "\xe2\x82\xac"      // U+20AC, three bytes
      "\xef\xbf\xbf"      // U+FFFF
      "\xf0\x9f\x94\x8c"  // U+1F50C, four bytes
      "\xf4\x8f\xbf\xbf"  // U+10FFFF, the last code point
      "\xc2\x80";         // U+0080, the first two-byte one
  EXPECT_EQ(Escape(text), text);
  EXPECT_EQ(Escape("k\xc3\xa9y\"\xe2\x82\xac"), "k\xc3\xa9y\\\"\xe2\x82\xac");
}

TEST(JsonEscapeTest, InvalidBytesAreEscapedOneByOne) {
  // A stray continuation byte, and bytes that never start a sequence.
  EXPECT_EQ(Escape("\x80"), "\\u0080");
  EXPECT_EQ(Escape(std::string("a\xff") + "b\xfe"), "a\\u00ffb\\u00fe");
  EXPECT_EQ(Escape("\xf5\x80\x80\x80"), "\\u00f5\\u0080\\u0080\\u0080");
  // Overlong forms: C0/C1 leads, E0 and F0 with a too-small second byte.
  EXPECT_EQ(Escape("\xc0\xaf"), "\\u00c0\\u00af");
  EXPECT_EQ(Escape("\xc1\xbf"), "\\u00c1\\u00bf");
  EXPECT_EQ(Escape("\xe0\x80\xaf"), "\\u00e0\\u0080\\u00af");
  EXPECT_EQ(Escape("\xf0\x8f\xbf\xbf"), "\\u00f0\\u008f\\u00bf\\u00bf");
  // A UTF-16 surrogate (U+D800) and a code point past U+10FFFF.
  EXPECT_EQ(Escape("\xed\xa0\x80"), "\\u00ed\\u00a0\\u0080");
  EXPECT_EQ(Escape("\xf4\x90\x80\x80"), "\\u00f4\\u0090\\u0080\\u0080");
}

TEST(JsonEscapeTest, TruncatedSequenceIsEscapedAndTheRestIsKept) {
  // The lead byte is escaped; what follows is judged on its own.
  EXPECT_EQ(Escape("\xe2\x82"), "\\u00e2\\u0082");
  EXPECT_EQ(Escape(std::string("\xe2\x82") + "a"), "\\u00e2\\u0082a");
  EXPECT_EQ(Escape(std::string("\xe2") + "\xc3\xa9"), "\\u00e2\xc3\xa9");
  EXPECT_EQ(Escape("\xf0\x9f\x94"), "\\u00f0\\u009f\\u0094");
  EXPECT_EQ(Escape("\xc3"), "\\u00c3");
}

TEST(JsonEscapeTest, AppendKeepsWhatIsThere) {
  std::string out = "{\"payload\":";
  AppendJsonString("x\ty", &out);
  out += "}";
  EXPECT_EQ(out, "{\"payload\":\"x\\u0009y\"}");
}

// Undoes AppendJsonEscaped on its raw output, where a \u00XX escape always
// stands for one byte (see json_escape.h). Fails the test on anything else.
std::string Unescape(std::string_view escaped) {
  std::string out;
  for (size_t i = 0; i < escaped.size(); ++i) {
    const uint8_t c = static_cast<uint8_t>(escaped[i]);
    EXPECT_GE(c, 0x20) << "a raw control character in the output";
    EXPECT_NE(c, '"') << "a raw quote in the output";
    if (c != '\\') {
      out.push_back(static_cast<char>(c));
      continue;
    }
    if (i + 1 == escaped.size()) {
      ADD_FAILURE() << "the output ends in a lone backslash";
      break;
    }
    if (escaped[i + 1] == '"' || escaped[i + 1] == '\\') {
      out.push_back(escaped[++i]);
      continue;
    }
    if (escaped.substr(i, 4) != "\\u00" || i + 6 > escaped.size()) {
      ADD_FAILURE() << "not a \\u00XX escape at " << i << " of " << escaped;
      break;
    }
    out.push_back(static_cast<char>(std::stoi(std::string(escaped.substr(i + 4, 2)), nullptr, 16)));
    i += 5;
  }
  return out;
}

// Every input of two arbitrary bytes, and of three from a set that covers
// each UTF-8 byte class: the escaping loses nothing, and valid UTF-8 (and
// only that) is left unescaped above 0x7F.
TEST(JsonEscapeTest, EveryShortInputRoundTrips) {
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      const std::string in = {static_cast<char>(a), static_cast<char>(b)};
      const std::string out = Escape(in);
      ASSERT_EQ(Unescape(out), in) << a << " " << b;
      const bool valid_pair = a >= 0xC2 && a <= 0xDF && b >= 0x80 && b <= 0xBF;
      if (valid_pair) {
        EXPECT_EQ(out, in);
      } else if (a >= 0x80) {
        EXPECT_EQ(out.substr(0, 4), "\\u00") << a << " " << b;
      }
    }
  }
  const uint8_t kClasses[] = {0x00, 0x22, 0x41, 0x5C, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF,
                              0xC0, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF};
  for (uint8_t a : kClasses) {
    for (uint8_t b : kClasses) {
      for (uint8_t c : kClasses) {
        const std::string in = {static_cast<char>(a), static_cast<char>(b), static_cast<char>(c)};
        ASSERT_EQ(Unescape(Escape(in)), in) << int{a} << " " << int{b} << " " << int{c};
      }
    }
  }
}

}  // namespace
}  // namespace gridgate
