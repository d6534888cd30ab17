#include "buffer/level_queue.h"

#include <algorithm>
#include <cassert>

#include "event/record_codec.h"

namespace gridgate::buffer {

LevelQueue::~LevelQueue() {
  // Slabs go back to the pool rather than being unmapped here, so that the
  // pool's count of mapped slabs stays true.
  for (Segment& segment : segments_) {
    pool_->Release(std::move(segment.slab), 0);
  }
}

char* LevelQueue::Append(size_t size) {
  assert(size > 0 && size <= pool_->slab_bytes());
  if (segments_.empty() || segments_.back().slab->size() - segments_.back().write < size) {
    std::unique_ptr<Slab> slab = pool_->Acquire();
    if (slab == nullptr) {
      return nullptr;
    }
    segments_.push_back(Segment{std::move(slab), 0, 0});
  }
  Segment& tail = segments_.back();
  char* dst = tail.slab->data() + tail.write;
  tail.write += size;
  ++events_;
  bytes_ += size;
  return dst;
}

const char* LevelQueue::Front() const {
  if (!returned_.empty()) {
    return returned_.front().data();
  }
  if (segments_.empty() || segments_.front().read == segments_.front().write) {
    return nullptr;
  }
  return segments_.front().slab->data() + segments_.front().read;
}

void LevelQueue::PopFront(int64_t now_ns) {
  assert(!empty());
  if (!returned_.empty()) {
    bytes_ -= returned_.front().size();
    --events_;
    returned_.pop_front();
    return;
  }
  Segment& head = segments_.front();
  const size_t size = record::RecordSizeAt(head.slab->data() + head.read);
  head.read += size;
  bytes_ -= size;
  --events_;
  // Invariant: a segment in the deque holds at least one record, so an empty
  // level holds no slab and its memory can be released after the quiet period.
  if (head.read == head.write) {
    pool_->Release(std::move(head.slab), now_ns);
    segments_.pop_front();
  }
}

std::vector<std::string_view> LevelQueue::Records() const {
  std::vector<std::string_view> out;
  out.reserve(events_);
  for (const std::string& r : returned_) {
    out.push_back(r);
  }
  for (const Segment& segment : segments_) {
    for (size_t pos = segment.read; pos < segment.write;) {
      const size_t size = record::RecordSizeAt(segment.slab->data() + pos);
      out.emplace_back(segment.slab->data() + pos, size);
      pos += size;
    }
  }
  return out;
}

void LevelQueue::Return(std::string_view record) {
  const Seq seq = record::RecordSeq(record.data());
  // Returns usually come back in order, so the search ends at the back.
  auto pos = std::upper_bound(
      returned_.begin(), returned_.end(), seq,
      [](Seq s, const std::string& r) { return s < record::RecordSeq(r.data()); });
  returned_.emplace(pos, record);
  ++events_;
  bytes_ += record.size();
}

}  // namespace gridgate::buffer
