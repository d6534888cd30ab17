#include "filter/filter_stats.h"

namespace gridgate::filter {

std::string_view FilterStateName(FilterState state) {
  switch (state) {
    case FilterState::kNormal:
      return "normal";
    case FilterState::kPressured:
      return "pressured";
    case FilterState::kSpilling:
      return "spilling";
    case FilterState::kDraining:
      return "draining";
  }
  return "unknown";
}

namespace {

uint64_t Sum(const std::array<LevelStats, kNumPriorities>& levels, uint64_t LevelStats::*field) {
  uint64_t n = 0;
  for (const LevelStats& l : levels) {
    n += l.*field;
  }
  return n;
}

}  // namespace

uint64_t FilterStats::Accepted() const { return Sum(levels, &LevelStats::accepted); }
uint64_t FilterStats::Recovered() const { return Sum(levels, &LevelStats::recovered); }
uint64_t FilterStats::Queued() const { return Sum(levels, &LevelStats::queued_events); }
uint64_t FilterStats::OnDisk() const { return Sum(levels, &LevelStats::on_disk_events); }
uint64_t FilterStats::InFlight() const { return Sum(levels, &LevelStats::in_flight_events); }
uint64_t FilterStats::Delivered() const { return Sum(levels, &LevelStats::delivered); }
uint64_t FilterStats::LostCorrupt() const { return Sum(levels, &LevelStats::lost_corrupt); }

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
    if (l.accepted + l.recovered != l.queued_events + l.on_disk_events + l.in_flight_events +
                                        l.delivered + l.lost_corrupt) {
      return false;
    }
    bytes += l.queued_bytes + l.in_flight_bytes;
  }
  return bytes == used_bytes;
}

}  // namespace gridgate::filter
