#include "common/process_memory.h"

#include <unistd.h>

#include <fstream>

namespace gridgate {

Result<uint64_t> ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size_pages = 0;
  uint64_t resident_pages = 0;
  if (!(statm >> size_pages >> resident_pages)) {
    return Status::IoError("cannot read /proc/self/statm");
  }
  return resident_pages * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace gridgate
