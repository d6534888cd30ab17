#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "event/event.h"

namespace gridgate::filter {

// What happened to one pushed event.
enum class PushResult : uint8_t {
  kQueued,   // in memory (and, in write-through mode, on disk); the filter owns it now
  kSpilled,  // on disk only, behind the level's backlog; the filter owns it now
  kRefused,  // not taken: tell the sender `reason` and `retry_after_ms`
};

constexpr bool IsAccepted(PushResult r) { return r != PushResult::kRefused; }

// Why an event was refused. Each has its own counter in the stats.
enum class RefuseReason : uint8_t {
  kNone = 0,          // not refused
  kMemoryFull,        // the budget (or the level's share of it) is used up: retry later
  kTooLarge,          // payload larger than max_event_bytes: retrying cannot help
  kInvalid,           // the event does not fit the record format (field too long, bad level)
  kShuttingDown,      // the filter is shutting down
  kDiskFull,          // memory and the spill disk budget are both used up: retry later
  kDiskError,         // the spill store failed to write (I/O error): retry later
};
inline constexpr size_t kNumRefuseReasons = 7;

// "memory_full", "too_large", "invalid", "shutting_down", "disk_full",
// "disk_error", "none".
std::string_view RefuseReasonName(RefuseReason reason);

// True where the same event may succeed later (so retry_after_ms means something).
constexpr bool IsRetryable(RefuseReason reason) {
  return reason == RefuseReason::kMemoryFull || reason == RefuseReason::kDiskFull ||
         reason == RefuseReason::kDiskError;
}

struct PushOutcome {
  PushResult result = PushResult::kRefused;
  RefuseReason reason = RefuseReason::kNone;
  // For a retryable refusal: when trying again is likely to succeed. 0 otherwise.
  uint32_t retry_after_ms = 0;
  // For an accepted event: the gateway sequence number it was given.
  Seq seq;
};

}  // namespace gridgate::filter
