#include "filter/push_outcome.h"

namespace gridgate::filter {

std::string_view RefuseReasonName(RefuseReason reason) {
  switch (reason) {
    case RefuseReason::kNone:
      return "none";
    case RefuseReason::kMemoryFull:
      return "memory_full";
    case RefuseReason::kTooLarge:
      return "too_large";
    case RefuseReason::kInvalid:
      return "invalid";
    case RefuseReason::kShuttingDown:
      return "shutting_down";
    case RefuseReason::kDiskFull:
      return "disk_full";
    case RefuseReason::kDiskError:
      return "disk_error";
  }
  return "unknown";
}

}  // namespace gridgate::filter
