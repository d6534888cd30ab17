#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "event/event.h"
#include "event/priority.h"

namespace gridgate::filter {

// The events of one Pop, copied out of the filter into memory this batch owns,
// so that the filter's slabs are free again at once. The events stay charged
// to the memory budget ("in flight") until the batch is acked or returned.
//
// Owned by the consumer thread. Reused across pops without allocating once its
// buffers have grown. Popping into a batch that is still in flight is refused.
class PopBatch {
 public:
  PopBatch() = default;
  PopBatch(const PopBatch&) = delete;
  PopBatch& operator=(const PopBatch&) = delete;
  PopBatch(PopBatch&&) = default;
  PopBatch& operator=(PopBatch&&) = default;

  size_t size() const { return offsets_.size(); }
  bool empty() const { return offsets_.empty(); }

  // Event `i` (0 <= i < size()), in the order popped: strict priority, FIFO
  // within a level. Its views point into this batch and stay valid until the
  // batch is popped into again or destroyed.
  Event event(size_t i) const;

  // Record bytes in this batch, the amount charged to the budget.
  size_t bytes() const { return data_.size(); }
  size_t events_of(Priority p) const { return events_by_level_[LevelIndex(p)]; }

  // The packed record of event `i` (event/record_format.h).
  std::string_view record(size_t i) const;

  // Non-zero while the batch is in flight (popped, neither acked nor returned).
  uint64_t id() const { return id_; }
  bool in_flight() const { return id_ != 0; }

 private:
  friend class BackpressureFilter;

  void Clear();
  void AddRecord(const char* record, size_t size);

  std::string data_;               // packed records, end to end
  std::vector<uint32_t> offsets_;  // start of each record in data_
  std::array<size_t, kNumPriorities> events_by_level_{};
  std::array<size_t, kNumPriorities> bytes_by_level_{};
  uint64_t id_ = 0;
};

}  // namespace gridgate::filter
