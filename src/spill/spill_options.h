#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "spill/segment_format.h"

namespace gridgate::spill {

// When spilled data is forced to the disk with fdatasync.
enum class FsyncPolicy : uint8_t {
  kNever,       // the kernel writes back when it likes; a kill -9 loses nothing, a power cut may
  kInterval,    // every fsync_interval_ms, by the drain worker
  kEveryBatch,  // before a push that wrote to disk returns
};

// What goes to disk.
enum class DurabilityMode : uint8_t {
  kOverflow,      // only what memory cannot hold (the default)
  kWriteThrough,  // every event, before its push returns
};

std::string_view FsyncPolicyName(FsyncPolicy policy);
std::string_view DurabilityModeName(DurabilityMode mode);

struct SpillOptions {
  // The spill directory: one folder per level, a seq.state file and a LOCK.
  std::string dir;
  // Size of each segment file: the 4 KiB header plus whole blocks (by
  // default 64 MiB of them).
  uint64_t segment_bytes = kSegmentHeaderBytes + (uint64_t{64} << 20);
  uint32_t block_bytes = kDefaultBlockBytes;
  // Disk space all segment files together may hold; 0 means half the free
  // space of the filesystem when the store opens.
  uint64_t disk_budget_bytes = 0;
  FsyncPolicy fsync = FsyncPolicy::kInterval;
  // Short enough that a storm's spill is written back while it happens, not
  // all at the end (measured: a 1 s interval left ~60% of a 560 MB spill's
  // time to the final sync).
  uint32_t fsync_interval_ms = 200;
  DurabilityMode mode = DurabilityMode::kOverflow;

  // InvalidArgument naming the field. `max_record_bytes` is the largest
  // record the filter may write, which must fit in one block.
  Status Validate(size_t max_record_bytes) const;
};

}  // namespace gridgate::spill
