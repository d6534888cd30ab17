#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "event/priority.h"

namespace gridgate::spill {

struct SpillLevelStats {
  uint64_t events_on_disk = 0;  // written and not yet drained back to memory
  uint64_t bytes_on_disk = 0;   // record bytes of those
  uint64_t spilled = 0;         // events written since start (write-through included)
  uint64_t drained = 0;         // events read back into memory since start
  uint64_t recovered = 0;       // events found on disk when the store opened
  uint64_t lost_corrupt = 0;    // events written or recovered that a damaged record took
  uint64_t segments_live = 0;
};

// One damaged stretch found on disk: where, and why it was passed over.
struct DamageReport {
  std::string path;
  uint64_t offset = 0;  // data offset (bytes after the segment header)
  std::string what;
};

// A snapshot of the SpillStore, taken under the owner's lock.
struct SpillStats {
  std::array<SpillLevelStats, kNumPriorities> levels{};
  uint64_t disk_budget_bytes = 0;
  uint64_t disk_bytes_used = 0;  // space held by segment files, live and free
  uint64_t segment_bytes = 0;
  uint64_t segments_live = 0;
  uint64_t segments_free = 0;
  uint64_t corrupt_records = 0;  // damaged stretches skipped (recovery and drain)
  uint64_t corrupt_bytes = 0;
  uint64_t bad_segment_headers = 0;
  uint64_t fsyncs = 0;
  uint64_t fsync_ns_total = 0;
  uint64_t fsync_ns_max = 0;
  uint64_t fsync_errors = 0;
  int64_t recovery_ms = 0;

  uint64_t EventsOnDisk() const;
};

}  // namespace gridgate::spill
