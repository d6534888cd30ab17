#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "event/priority.h"
#include "filter/push_outcome.h"

namespace gridgate::filter {

// The memory tier's state. The disk tier adds spilling and draining.
enum class FilterState : uint8_t {
  kNormal,     // used memory under the high watermark, or back under the low one
  kPressured,  // reached the high watermark and not yet back to the low one
};

// "normal", "pressured".
std::string_view FilterStateName(FilterState state);

struct LevelStats {
  uint64_t queued_events = 0;
  uint64_t queued_bytes = 0;
  uint64_t in_flight_events = 0;
  uint64_t in_flight_bytes = 0;
  uint64_t accepted = 0;   // events taken since start
  uint64_t refused = 0;    // events refused since start (all reasons)
  uint64_t delivered = 0;  // events acked since start
  uint64_t returned = 0;   // events put back after a failed delivery (may repeat)
  // Age of the oldest queued event by its ingest time; 0 when none is queued.
  int64_t oldest_queued_age_ms = 0;
};

// A consistent snapshot of the filter, taken under its lock.
struct FilterStats {
  std::array<LevelStats, kNumPriorities> levels{};

  FilterState state = FilterState::kNormal;
  uint64_t pressured_transitions = 0;  // normal -> pressured crossings

  uint64_t budget_bytes = 0;
  uint64_t used_bytes = 0;    // record bytes queued or in flight
  uint64_t mapped_bytes = 0;  // slab memory mapped from the OS now
  uint64_t high_watermark_bytes = 0;
  uint64_t low_watermark_bytes = 0;
  uint64_t critical_reserve_bytes = 0;
  uint64_t high_reserve_bytes = 0;

  uint64_t slab_bytes = 0;
  uint64_t slabs_mapped = 0;
  uint64_t slabs_idle = 0;
  uint64_t slabs_mapped_total = 0;    // mmap calls since start
  uint64_t slabs_unmapped_total = 0;  // slabs handed back to the OS since start
  uint64_t slab_map_failures = 0;

  // Refusals by reason (index: RefuseReason), including events whose level
  // was invalid and so are in no level's count.
  std::array<uint64_t, kNumRefuseReasons> refused_by_reason{};

  uint64_t batches_in_flight = 0;
  double delivered_bytes_per_second = 0;

  // The ledger: every accepted event is queued, in flight or delivered.
  uint64_t Accepted() const;
  uint64_t Queued() const;
  uint64_t InFlight() const;
  uint64_t Delivered() const;
  uint64_t Refused() const;
  // True when, for every level, accepted == queued + in flight + delivered,
  // and the byte counts add up to used_bytes.
  bool LedgerBalanced() const;
};

}  // namespace gridgate::filter
