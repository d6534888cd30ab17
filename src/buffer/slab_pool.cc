#include "buffer/slab_pool.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "common/errno_text.h"

namespace gridgate::buffer {

Result<std::unique_ptr<Slab>> Slab::Map(size_t size_bytes) {
  // MAP_NORESERVE: the budget, not overcommit accounting, bounds what we use.
  void* p = mmap(nullptr, size_bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    return Status::IoError("mmap of a " + std::to_string(size_bytes) +
                           "-byte slab failed: " + ErrnoText(errno));
  }
  return std::unique_ptr<Slab>(new Slab(static_cast<char*>(p), size_bytes));
}

Slab::~Slab() { munmap(data_, size_); }

SlabPool::SlabPool(size_t slab_bytes, size_t max_slabs)
    : slab_bytes_(slab_bytes), max_slabs_(max_slabs) {}

std::unique_ptr<Slab> SlabPool::Acquire() {
  if (!idle_.empty()) {
    std::unique_ptr<Slab> slab = std::move(idle_.back());
    idle_.pop_back();
    return slab;
  }
  if (mapped_slabs_ >= max_slabs_) {
    return nullptr;
  }
  Result<std::unique_ptr<Slab>> slab = Slab::Map(slab_bytes_);
  if (!slab.ok()) {
    ++map_failures_;
    return nullptr;
  }
  ++mapped_slabs_;
  ++slabs_mapped_total_;
  return std::move(slab).value();
}

void SlabPool::Release(std::unique_ptr<Slab> slab, int64_t now_ns) {
  slab->idle_since_ns_ = now_ns;
  idle_.push_back(std::move(slab));
}

std::vector<std::unique_ptr<Slab>> SlabPool::TakeIdleSince(int64_t idle_before_ns) {
  std::vector<std::unique_ptr<Slab>> out;
  while (!idle_.empty() && idle_.front()->idle_since_ns_ <= idle_before_ns) {
    out.push_back(std::move(idle_.front()));
    idle_.pop_front();
  }
  mapped_slabs_ -= out.size();
  slabs_unmapped_total_ += out.size();
  return out;
}

}  // namespace gridgate::buffer
