#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "buffer/slab_pool.h"

namespace gridgate::buffer {

// The FIFO of one priority level: packed records (event/record_format.h) laid
// end to end in slabs taken from a SlabPool. Records returned by the consumer
// (un-acked after a sink failure) go back to the head, ahead of everything in
// the slabs, in sequence order.
//
// Not thread-safe: owned by the BackpressureFilter and used under its lock.
// `pool` must outlive this queue. A slab whose records have all been popped
// goes back to the pool at once; the filter decides when idle slabs are
// unmapped.
class LevelQueue {
 public:
  explicit LevelQueue(SlabPool* pool) : pool_(pool) {}
  ~LevelQueue();
  LevelQueue(const LevelQueue&) = delete;
  LevelQueue& operator=(const LevelQueue&) = delete;

  // Space for one record of `size` bytes at the tail, which the caller fills
  // completely before the next call. The record counts as queued from now on.
  // nullptr when a new slab was needed and the pool had none (nothing
  // changes then). Precondition: 0 < size <= pool's slab_bytes.
  char* Append(size_t size);

  // The record at the head, or nullptr when empty. Valid until the next
  // mutating call.
  const char* Front() const;

  // Removes the head record. Precondition: !empty(). A slab emptied by this
  // goes back to the pool as idle since `now_ns`.
  void PopFront(int64_t now_ns);

  // Puts one record back at the head: `record` must have been popped from this
  // queue and not be queued now. Records returned together or apart end up in
  // sequence order, all ahead of the records still in the slabs.
  void Return(std::string_view record);

  // Every queued record, head first; the views are valid until the next
  // mutating call.
  std::vector<std::string_view> Records() const;

  bool empty() const { return events_ == 0; }
  size_t events() const { return events_; }
  size_t bytes() const { return bytes_; }
  size_t slabs() const { return segments_.size(); }

 private:
  // A slab and the part of it that holds queued records: [read, write).
  struct Segment {
    std::unique_ptr<Slab> slab;
    size_t read = 0;
    size_t write = 0;
  };

  SlabPool* const pool_;
  std::deque<Segment> segments_;
  // Returned records, ascending sequence numbers; served before segments_.
  std::deque<std::string> returned_;
  size_t events_ = 0;
  size_t bytes_ = 0;
};

}  // namespace gridgate::buffer
