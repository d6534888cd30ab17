#include "event/priority.h"

namespace gridgate {

std::string_view PriorityName(Priority p) {
  switch (p) {
    case Priority::kCritical:
      return "critical";
    case Priority::kHigh:
      return "high";
    case Priority::kNormal:
      return "normal";
    case Priority::kLow:
      return "low";
  }
  return "invalid";
}

std::optional<Priority> ParsePriority(std::string_view name) {
  for (Priority p : kAllPriorities) {
    if (PriorityName(p) == name) {
      return p;
    }
  }
  return std::nullopt;
}

}  // namespace gridgate
