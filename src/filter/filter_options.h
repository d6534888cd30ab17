#pragma once

#include <cstddef>
#include <cstdint>

#include <optional>

#include "common/clock.h"
#include "common/status.h"
#include "spill/spill_options.h"

namespace gridgate::filter {

// Options of the BackpressureFilter's memory tier. Fractions are of
// budget_bytes. Validate() names the first bad field.
struct FilterOptions {
  // Record bytes (events queued plus in flight) the memory tier may hold.
  size_t budget_bytes = size_t{512} << 20;

  // The tier turns pressured at the high watermark and back to normal only at
  // the low one (hysteresis).
  double high_watermark_fraction = 0.80;
  double low_watermark_fraction = 0.60;

  // Memory only critical events may use, and memory only critical and high
  // events may use, so that a flood of readings never crowds out an alert.
  double critical_reserve_fraction = 0.05;
  double high_reserve_fraction = 0.05;

  // Memory is mapped from the OS in slabs of this size (a multiple of the page
  // size, large enough for the largest record).
  size_t slab_bytes = size_t{4} << 20;

  // The largest payload (the sender's JSON bytes) an event may carry.
  size_t max_event_bytes = 4096;

  // Idle slabs are unmapped once used memory has stayed at or under the low
  // watermark for this long and the slab has been idle this long.
  int64_t release_quiet_period_ms = 5000;

  // Refusals carry a retry-after hint: the time to deliver enough to clear the
  // pressure at the recent delivery rate, clamped to [min, max]; the default
  // when nothing has been delivered recently.
  uint32_t retry_after_min_ms = 100;
  uint32_t retry_after_max_ms = 30'000;
  uint32_t retry_after_default_ms = 1000;

  // The disk tier. Without it, a push past the budget is refused; with it,
  // the overflow goes to disk (see spill::SpillOptions).
  std::optional<spill::SpillOptions> spill;

  // Not owned; must outlive the filter.
  Clock* clock = SystemClock();

  Status Validate() const;

  // Derived sizes.
  size_t MaxRecordBytes() const;
};

}  // namespace gridgate::filter
