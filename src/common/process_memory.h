#pragma once

#include <cstdint>

#include "common/result.h"

namespace gridgate {

// The resident set size of this process in bytes, read from /proc/self/statm.
// Thread-safe. Fails with IoError where /proc is not mounted.
Result<uint64_t> ResidentBytes();

}  // namespace gridgate
