#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "common/result.h"

namespace gridgate::buffer {

// One region of memory mapped from the OS (anonymous, private). Unmapped when
// destroyed, which returns its pages to the OS at once. Not copyable.
class Slab {
 public:
  // Maps `size_bytes` (a multiple of the page size). IoError when mmap fails.
  static Result<std::unique_ptr<Slab>> Map(size_t size_bytes);
  ~Slab();
  Slab(const Slab&) = delete;
  Slab& operator=(const Slab&) = delete;

  char* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  friend class SlabPool;
  Slab(char* data, size_t size) : data_(data), size_(size) {}

  char* const data_;
  const size_t size_;
  int64_t idle_since_ns_ = 0;  // meaningful only while the slab is idle in the pool
};

// A pool of equal-sized slabs, capped at max_slabs mapped at once. Slabs grow
// on demand (Acquire maps a new one when none is idle) and are given back to
// the OS only when the owner says they have been idle long enough
// (TakeIdleSince), so a storm reuses what it mapped instead of paying for
// fresh pages again.
//
// Not thread-safe: owned by the BackpressureFilter and used under its lock.
// Unmapping can take milliseconds for a large slab, so TakeIdleSince hands the
// slabs out to be destroyed after the lock is released.
class SlabPool {
 public:
  // Preconditions, checked by the filter's options: slab_bytes is a positive
  // multiple of the page size and max_slabs > 0.
  SlabPool(size_t slab_bytes, size_t max_slabs);

  // An idle slab (the most recently released, whose pages are warm) or a newly
  // mapped one. nullptr when max_slabs are mapped or mmap fails (counted in
  // map_failures). Never blocks.
  std::unique_ptr<Slab> Acquire();

  // Takes back a slab from Acquire as idle since `now_ns`.
  void Release(std::unique_ptr<Slab> slab, int64_t now_ns);

  // Removes the slabs idle since `idle_before_ns` or earlier and returns them;
  // destroying them unmaps them. They stop counting as mapped at once.
  std::vector<std::unique_ptr<Slab>> TakeIdleSince(int64_t idle_before_ns);

  size_t slab_bytes() const { return slab_bytes_; }
  size_t max_slabs() const { return max_slabs_; }
  size_t mapped_slabs() const { return mapped_slabs_; }
  size_t idle_slabs() const { return idle_.size(); }
  size_t mapped_bytes() const { return mapped_slabs_ * slab_bytes_; }
  uint64_t map_failures() const { return map_failures_; }
  uint64_t slabs_mapped_total() const { return slabs_mapped_total_; }
  uint64_t slabs_unmapped_total() const { return slabs_unmapped_total_; }

 private:
  const size_t slab_bytes_;
  const size_t max_slabs_;
  size_t mapped_slabs_ = 0;
  uint64_t map_failures_ = 0;
  uint64_t slabs_mapped_total_ = 0;
  uint64_t slabs_unmapped_total_ = 0;
  // Oldest idle at the front, most recently released at the back.
  std::deque<std::unique_ptr<Slab>> idle_;
};

}  // namespace gridgate::buffer
