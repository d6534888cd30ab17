#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "event/priority.h"
#include "filter/push_outcome.h"
#include "spill/spill_stats.h"

namespace gridgate::filter {

// The filter's state, from its watermarks and its disk backlog.
enum class FilterState : uint8_t {
  kNormal,     // under the high watermark (or back under the low one), nothing on disk
  kPressured,  // reached the high watermark, not yet back to the low one; no disk tier
  kSpilling,   // as pressured, with a disk tier: normal and low events go to disk
  kDraining,   // back under the low watermark with events on disk being drained
};

// "normal", "pressured", "spilling", "draining".
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
  // The disk tier (zero without one).
  uint64_t on_disk_events = 0;  // spilled and not yet drained back
  uint64_t on_disk_bytes = 0;
  uint64_t spilled = 0;       // accepted straight to disk, or written through
  uint64_t drained = 0;       // read back from disk into memory
  uint64_t recovered = 0;     // found on disk at start
  uint64_t lost_corrupt = 0;  // on disk, but taken by a damaged record
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
  uint64_t peak_used_bytes = 0;  // the most used_bytes ever reached since start
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
  uint64_t seq_lease_errors = 0;  // the sequence lease file could not be written
  double delivered_bytes_per_second = 0;

  // The disk tier.
  bool spill_enabled = false;
  spill::SpillStats spill;

  // The ledger: every event accepted (or recovered from disk) is queued, on
  // disk, in flight, delivered, or lost to a damaged disk record.
  uint64_t Accepted() const;
  uint64_t Recovered() const;
  uint64_t Queued() const;
  uint64_t OnDisk() const;
  uint64_t InFlight() const;
  uint64_t Delivered() const;
  uint64_t LostCorrupt() const;
  uint64_t Refused() const;
  // True when, for every level, accepted + recovered == queued + on disk +
  // in flight + delivered + lost, and the memory byte counts add up to
  // used_bytes.
  bool LedgerBalanced() const;
};

}  // namespace gridgate::filter
