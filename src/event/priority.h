#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace gridgate {

// The four priority levels, most urgent first. The numeric value is the level
// index used in arrays, in records and on disk: never renumber.
enum class Priority : uint8_t {
  kCritical = 0,
  kHigh = 1,
  kNormal = 2,
  kLow = 3,
};

inline constexpr size_t kNumPriorities = 4;

// All levels in strict priority order, for loops.
inline constexpr std::array<Priority, kNumPriorities> kAllPriorities = {
    Priority::kCritical, Priority::kHigh, Priority::kNormal, Priority::kLow};

constexpr size_t LevelIndex(Priority p) { return static_cast<size_t>(p); }

// "critical", "high", "normal", "low".
std::string_view PriorityName(Priority p);

// The inverse of PriorityName; nullopt for anything else (case-sensitive).
std::optional<Priority> ParsePriority(std::string_view name);

// True when `raw` is a valid level number (as read from a record).
constexpr bool IsValidPriority(uint8_t raw) { return raw < kNumPriorities; }

}  // namespace gridgate
