#include "spill/spill_options.h"

#include <string>

namespace gridgate::spill {

std::string_view FsyncPolicyName(FsyncPolicy policy) {
  switch (policy) {
    case FsyncPolicy::kNever:
      return "never";
    case FsyncPolicy::kInterval:
      return "interval";
    case FsyncPolicy::kEveryBatch:
      return "batch";
  }
  return "unknown";
}

std::string_view DurabilityModeName(DurabilityMode mode) {
  switch (mode) {
    case DurabilityMode::kOverflow:
      return "overflow";
    case DurabilityMode::kWriteThrough:
      return "write_through";
  }
  return "unknown";
}

Status SpillOptions::Validate(size_t max_record_bytes) const {
  if (dir.empty()) {
    return Status::InvalidArgument("spill dir must not be empty");
  }
  if (block_bytes < 4096 || block_bytes % 4096 != 0) {
    return Status::InvalidArgument("spill block_bytes (" + std::to_string(block_bytes) +
                                   ") must be a positive multiple of 4096");
  }
  if (block_bytes < max_record_bytes) {
    return Status::InvalidArgument("spill block_bytes (" + std::to_string(block_bytes) +
                                   ") must hold the largest record (" +
                                   std::to_string(max_record_bytes) + " bytes)");
  }
  if (segment_bytes < kSegmentHeaderBytes + block_bytes ||
      (segment_bytes - kSegmentHeaderBytes) % block_bytes != 0) {
    return Status::InvalidArgument("spill segment_bytes (" + std::to_string(segment_bytes) +
                                   ") must be " + std::to_string(kSegmentHeaderBytes) +
                                   " plus a whole number (at least 1) of block_bytes");
  }
  if (disk_budget_bytes != 0 && disk_budget_bytes < segment_bytes) {
    return Status::InvalidArgument("spill disk_budget_bytes must hold at least one segment");
  }
  if (fsync == FsyncPolicy::kInterval && fsync_interval_ms == 0) {
    return Status::InvalidArgument("spill fsync_interval_ms must be positive");
  }
  return Status::Ok();
}

}  // namespace gridgate::spill
