#include "filter/pop_batch.h"

#include <cassert>

#include "event/record_codec.h"

namespace gridgate::filter {

Event PopBatch::event(size_t i) const {
  Event event;
  size_t size = 0;
  const Status s = record::DecodeRecord(record(i), &event, &size);
  // Invariant: the filter copied a record it encoded itself.
  assert(s.ok());
  (void)s;
  return event;
}

void PopBatch::Clear() {
  data_.clear();
  offsets_.clear();
  events_by_level_.fill(0);
  bytes_by_level_.fill(0);
  id_ = 0;
}

void PopBatch::AddRecord(const char* record, size_t size) {
  const Priority level = record::RecordLevel(record);
  offsets_.push_back(static_cast<uint32_t>(data_.size()));
  data_.append(record, size);
  ++events_by_level_[LevelIndex(level)];
  bytes_by_level_[LevelIndex(level)] += size;
}

std::string_view PopBatch::record(size_t i) const {
  const size_t begin = offsets_[i];
  const size_t end = i + 1 < offsets_.size() ? offsets_[i + 1] : data_.size();
  return std::string_view(data_).substr(begin, end - begin);
}

}  // namespace gridgate::filter
