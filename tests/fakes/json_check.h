#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gridgate::testing {

// A parsed JSON value.
struct JsonNode {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };

  Kind kind = Kind::kNull;
  bool boolean = false;
  std::string text;               // a number's text as written, or a string unescaped (UTF-8)
  std::vector<JsonNode> items;    // an array's elements, or an object's values
  std::vector<std::string> keys;  // an object's keys, in document order (keys[i]: items[i])

  // The value at a dot-separated path of object keys ("memory.budget_bytes");
  // nullptr when a step is missing or not an object.
  const JsonNode* Find(std::string_view path) const {
    const JsonNode* node = this;
    while (node != nullptr) {
      const size_t dot = path.find('.');
      const std::string_view key = path.substr(0, dot);
      const JsonNode* next = nullptr;
      if (node->kind == Kind::kObject) {
        for (size_t i = 0; i < node->keys.size(); ++i) {
          if (node->keys[i] == key) {
            next = &node->items[i];
            break;
          }
        }
      }
      node = next;
      if (dot == std::string_view::npos) {
        break;
      }
      path.remove_prefix(dot + 1);
    }
    return node;
  }
};

// A strict RFC 8259 parser for tests: one value with optional whitespace
// around it, numbers in the JSON grammar only (no NaN, Infinity, leading
// zeros, "+1" or ".5"), no raw control characters in strings, only the
// defined escapes, valid UTF-8, no trailing commas, and — stricter than the
// RFC — no duplicate key within an object. Nesting is limited to 64 levels.
//
// Returns nullopt and sets `*error` (when given) to the byte offset and what
// went wrong. Thread-safe (no state).
class JsonCheck {
 public:
  static std::optional<JsonNode> Parse(std::string_view text, std::string* error = nullptr) {
    JsonCheck p(text);
    JsonNode root;
    if (p.Value(&root, 0)) {
      p.SkipSpace();
      if (p.pos_ == text.size()) {
        return root;
      }
      p.Fail("text after the value");
    }
    if (error != nullptr) {
      *error = "at byte " + std::to_string(p.error_pos_) + ": " + p.error_;
    }
    return std::nullopt;
  }

 private:
  explicit JsonCheck(std::string_view text) : text_(text) {}

  bool Fail(const char* what) {
    if (error_.empty()) {
      error_ = what;
      error_pos_ = pos_;
    }
    return false;
  }

  char Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  bool AtEnd() const { return pos_ >= text_.size(); }
  bool Eat(char c) {
    if (AtEnd() || text_[pos_] != c) {
      return false;
    }
    ++pos_;
    return true;
  }
  bool EatWord(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) {
      return Fail("unknown literal");
    }
    pos_ += word.size();
    return true;
  }
  void SkipSpace() {
    while (!AtEnd() && (Peek() == ' ' || Peek() == '\t' || Peek() == '\n' || Peek() == '\r')) {
      ++pos_;
    }
  }
  static bool IsDigit(char c) { return c >= '0' && c <= '9'; }

  bool Value(JsonNode* out, int depth) {
    if (depth > 64) {
      return Fail("nested too deep");
    }
    SkipSpace();
    if (AtEnd()) {
      return Fail("value expected");
    }
    switch (Peek()) {
      case '{':
        return Object(out, depth);
      case '[':
        return Array(out, depth);
      case '"':
        out->kind = JsonNode::Kind::kString;
        return String(&out->text);
      case 't':
        out->kind = JsonNode::Kind::kBool;
        out->boolean = true;
        return EatWord("true");
      case 'f':
        out->kind = JsonNode::Kind::kBool;
        return EatWord("false");
      case 'n':
        out->kind = JsonNode::Kind::kNull;
        return EatWord("null");
      default:
        out->kind = JsonNode::Kind::kNumber;
        return Number(&out->text);
    }
  }

  bool Object(JsonNode* out, int depth) {
    out->kind = JsonNode::Kind::kObject;
    ++pos_;  // '{'
    SkipSpace();
    if (Eat('}')) {
      return true;
    }
    do {
      SkipSpace();
      std::string key;
      if (Peek() != '"') {
        return Fail("key expected");
      }
      if (!String(&key)) {
        return false;
      }
      for (const std::string& seen : out->keys) {
        if (seen == key) {
          return Fail("duplicate key");
        }
      }
      SkipSpace();
      if (!Eat(':')) {
        return Fail("':' expected");
      }
      JsonNode value;
      if (!Value(&value, depth + 1)) {
        return false;
      }
      out->keys.push_back(std::move(key));
      out->items.push_back(std::move(value));
      SkipSpace();
    } while (Eat(','));
    return Eat('}') || Fail("',' or '}' expected");
  }

  bool Array(JsonNode* out, int depth) {
    out->kind = JsonNode::Kind::kArray;
    ++pos_;  // '['
    SkipSpace();
    if (Eat(']')) {
      return true;
    }
    do {
      JsonNode value;
      if (!Value(&value, depth + 1)) {
        return false;
      }
      out->items.push_back(std::move(value));
      SkipSpace();
    } while (Eat(','));
    return Eat(']') || Fail("',' or ']' expected");
  }

  // number = [ "-" ] int [ frac ] [ exp ]; int = "0" / digit1-9 *digit
  bool Number(std::string* out) {
    const size_t start = pos_;
    Eat('-');
    if (Eat('0')) {
      if (IsDigit(Peek())) {
        return Fail("leading zero");
      }
    } else if (IsDigit(Peek())) {
      while (IsDigit(Peek())) {
        ++pos_;
      }
    } else {
      return Fail("value expected");
    }
    if (Eat('.')) {
      if (!IsDigit(Peek())) {
        return Fail("digit expected after '.'");
      }
      while (IsDigit(Peek())) {
        ++pos_;
      }
    }
    if (Eat('e') || Eat('E')) {
      if (!Eat('+')) {
        Eat('-');
      }
      if (!IsDigit(Peek())) {
        return Fail("digit expected in exponent");
      }
      while (IsDigit(Peek())) {
        ++pos_;
      }
    }
    *out = std::string(text_.substr(start, pos_ - start));
    return true;
  }

  static void AppendUtf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  bool Hex4(uint32_t* cp) {
    if (text_.size() - pos_ < 4) {
      return Fail("four hex digits expected");
    }
    *cp = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_++];
      const int digit = c >= '0' && c <= '9'   ? c - '0'
                        : c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                               : -1;
      if (digit < 0) {
        return Fail("hex digit expected");
      }
      *cp = *cp * 16 + static_cast<uint32_t>(digit);
    }
    return true;
  }

  // One raw UTF-8 sequence (RFC 3629: shortest form, no surrogates, at most
  // U+10FFFF), copied to `out`.
  bool Utf8(std::string* out) {
    const auto b0 = static_cast<unsigned char>(text_[pos_]);
    size_t n = 0;
    uint32_t cp = 0;
    uint32_t min = 0;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      n = 1, cp = b0 & 0x1F, min = 0x80;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      n = 2, cp = b0 & 0x0F, min = 0x800;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      n = 3, cp = b0 & 0x07, min = 0x10000;
    } else {
      return Fail("invalid UTF-8 lead byte");
    }
    if (text_.size() - pos_ <= n) {
      return Fail("truncated UTF-8 sequence");
    }
    for (size_t i = 1; i <= n; ++i) {
      const auto b = static_cast<unsigned char>(text_[pos_ + i]);
      if ((b & 0xC0) != 0x80) {
        return Fail("invalid UTF-8 continuation byte");
      }
      cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return Fail("overlong, surrogate or out-of-range UTF-8");
    }
    out->append(text_.substr(pos_, n + 1));
    pos_ += n + 1;
    return true;
  }

  bool String(std::string* out) {
    ++pos_;  // '"'
    while (true) {
      if (AtEnd()) {
        return Fail("unterminated string");
      }
      const auto c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20) {
        return Fail("raw control character in string");
      }
      if (c >= 0x80) {
        if (!Utf8(out)) {
          return false;
        }
        continue;
      }
      ++pos_;
      if (c != '\\') {
        out->push_back(static_cast<char>(c));
        continue;
      }
      if (AtEnd()) {
        return Fail("unterminated escape");
      }
      const char e = text_[pos_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out->push_back(e);
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          uint32_t cp = 0;
          if (!Hex4(&cp)) {
            return false;
          }
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t low = 0;
            if (!Eat('\\') || !Eat('u') || !Hex4(&low) || low < 0xDC00 || low > 0xDFFF) {
              return Fail("unpaired high surrogate");
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return Fail("unpaired low surrogate");
          }
          AppendUtf8(cp, out);
          break;
        }
        default:
          return Fail("unknown escape");
      }
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
  std::string error_;
  size_t error_pos_ = 0;
};

}  // namespace gridgate::testing
