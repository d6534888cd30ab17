#include "filter/filter_stats.h"

namespace gridgate::filter {

std::string_view FilterStateName(FilterState state) {
  switch (state) {
    case FilterState::kNormal:
      return "normal";
    case FilterState::kPressured:
      return "pressured";
  }
  return "unknown";
}

uint64_t FilterStats::Accepted() const {
  uint64_t n = 0;
  for (const LevelStats& l : levels) {
    n += l.accepted;
  }
  return n;
}

uint64_t FilterStats::Queued() const {
  uint64_t n = 0;
  for (const LevelStats& l : levels) {
    n += l.queued_events;
  }
  return n;
}

uint64_t FilterStats::InFlight() const {
  uint64_t n = 0;
  for (const LevelStats& l : levels) {
    n += l.in_flight_events;
  }
  return n;
}

uint64_t FilterStats::Delivered() const {
  uint64_t n = 0;
  for (const LevelStats& l : levels) {
    n += l.delivered;
  }
  return n;
}

uint64_t FilterStats::Refused() const {
  uint64_t n = 0;
  for (uint64_t r : refused_by_reason) {
    n += r;
  }
  return n;
}

bool FilterStats::LedgerBalanced() const {
  uint64_t bytes = 0;
  for (const LevelStats& l : levels) {
    if (l.accepted != l.queued_events + l.in_flight_events + l.delivered) {
      return false;
    }
    bytes += l.queued_bytes + l.in_flight_bytes;
  }
  return bytes == used_bytes;
}

}  // namespace gridgate::filter
