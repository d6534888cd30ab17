#include "spill/spill_store.h"

#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cstring>

#include "event/record_codec.h"
#include "spill/segment_reader.h"

namespace gridgate::spill {

uint64_t SpillStats::EventsOnDisk() const {
  uint64_t n = 0;
  for (const SpillLevelStats& l : levels) {
    n += l.events_on_disk;
  }
  return n;
}

SpillStore::SpillStore(const SpillOptions& options, size_t max_record_bytes, Clock* clock)
    : options_(options), max_record_bytes_(max_record_bytes), clock_(clock) {
  for (Priority p : kAllPriorities) {
    levels_[LevelIndex(p)].dir = options.dir + "/" + std::string(PriorityName(p));
  }
}

SpillStore::~SpillStore() {
  if (lock_fd_ >= 0) {
    close(lock_fd_);  // releases the directory lock
  }
}

uint64_t SpillStore::BacklogEvents() const {
  uint64_t n = 0;
  for (const Level& l : levels_) {
    n += l.undrained_events;
  }
  return n;
}

uint64_t SpillStore::SegmentFiles() const {
  uint64_t n = 0;
  for (const Level& l : levels_) {
    n += l.live.size() + l.free.size();
  }
  return n;
}

SegmentHeader SpillStore::NewHeader(Priority level, uint32_t slot) {
  // The low 32 bits mark memory copies of disk records; 0 means "memory only".
  if (static_cast<uint32_t>(next_epoch_) == 0) {
    ++next_epoch_;
  }
  SegmentHeader h;
  h.block_bytes = options_.block_bytes;
  h.level = level;
  h.state = SegmentState::kLive;
  h.slot = slot;
  h.epoch = next_epoch_++;
  h.segment_bytes = options_.segment_bytes;
  h.start_offset = 0;
  h.created_unix_ns = clock_->UnixNs();
  return h;
}

Result<std::unique_ptr<Segment>> SpillStore::AcquireSegment(Priority level) {
  Level& l = levels_[LevelIndex(level)];
  std::unique_ptr<Segment> segment;
  if (!l.free.empty()) {
    segment = std::move(l.free.back());
    l.free.pop_back();
    if (Status s = segment->Reset(NewHeader(level, segment->header().slot)); !s.ok()) {
      l.free.push_back(std::move(segment));
      return s;
    }
  } else if ((SegmentFiles() + 1) * options_.segment_bytes <= disk_budget_bytes_) {
    const uint32_t slot = l.next_slot++;
    auto created = Segment::Create(l.dir + "/" + SegmentFileName(slot), NewHeader(level, slot));
    if (!created.ok()) {
      return created.status();
    }
    segment = std::move(created).value();
  } else {
    for (Level& other : levels_) {
      if (other.free.empty()) {
        continue;
      }
      std::unique_ptr<Segment> moved = std::move(other.free.back());
      other.free.pop_back();
      const uint32_t slot = l.next_slot++;
      if (Status s = moved->Rename(l.dir + "/" + SegmentFileName(slot)); !s.ok()) {
        other.free.push_back(std::move(moved));
        return s;
      }
      if (Status s = moved->Reset(NewHeader(level, slot)); !s.ok()) {
        l.free.push_back(std::move(moved));
        return s;
      }
      segment = std::move(moved);
      break;
    }
    if (segment == nullptr) {
      return Status::ResourceExhausted(
          "spill disk budget of " + std::to_string(disk_budget_bytes_) + " bytes (" +
          std::to_string(disk_budget_bytes_ / options_.segment_bytes) + " segments) is used up");
    }
  }
  if (Status s = segment->Map(); !s.ok()) {
    l.free.push_back(std::move(segment));
    return s;
  }
  return segment;
}

void SpillStore::Seal(Priority level, size_t index) {
  Level& l = levels_[LevelIndex(level)];
  LiveSegment& s = l.live[index];
  s.sealed = true;
  // The drain worker may be reading the segment at read_idx outside the
  // lock; AdvanceRead unmaps that one when it moves past it.
  if (index != l.read_idx) {
    s.segment->Unmap();
  }
}

Status SpillStore::AddTailSegment(Priority level) {
  Level& l = levels_[LevelIndex(level)];
  auto segment = AcquireSegment(level);
  if (!segment.ok()) {
    return segment.status();
  }
  if (!l.live.empty() && !l.live.back().sealed) {
    Seal(level, l.live.size() - 1);
  }
  LiveSegment fresh;
  fresh.segment = std::move(segment).value();
  l.live.push_back(std::move(fresh));
  return Status::Ok();
}

Status SpillStore::Append(const Event& event, Seq seq, Appended* out) {
  Level& l = levels_[LevelIndex(event.priority)];
  const size_t size = record::RecordSize(event);
  assert(size <= options_.block_bytes);
  char* dst = nullptr;
  if (!l.live.empty() && !l.live.back().sealed) {
    dst = l.live.back().segment->Append(size);
  }
  if (dst == nullptr) {
    if (Status s = AddTailSegment(event.priority); !s.ok()) {
      return s;
    }
    dst = l.live.back().segment->Append(size);
    if (dst == nullptr) {
      return Status::IoError("a fresh segment cannot hold a " + std::to_string(size) +
                             "-byte record");
    }
  }
  LiveSegment& tail = l.live.back();
  const uint64_t segment_epoch = tail.segment->header().epoch;
  record::EncodeRecord(event, seq, dst);
  SealRecord(dst, size, segment_epoch);
  if (tail.records == 0) {
    tail.first_seq = seq.value;
  }
  ++tail.records;
  tail.bytes += size;
  tail.dirty = true;
  l.resident = true;
  ++l.undrained_events;
  l.undrained_bytes += size;
  l.last_append_bytes = size;
  ++l.counters.spilled;
  out->record = std::string_view(dst, size);
  out->fd = tail.segment->fd();
  return Status::Ok();
}

void SpillStore::MarkLastDrained(Priority level) {
  Level& l = levels_[LevelIndex(level)];
  AdvanceRead(level);
  // Invariant: with no backlog before the append, the reader is at the tail.
  assert(l.read_idx + 1 == l.live.size());
  LiveSegment& tail = l.live.back();
  tail.read_pos = tail.segment->write_pos();
  ++tail.drained;
  tail.drained_bytes += l.last_append_bytes;
  --l.undrained_events;
  l.undrained_bytes -= l.last_append_bytes;
  ++l.counters.drained;
}

void SpillStore::AdvanceRead(Priority level) {
  Level& l = levels_[LevelIndex(level)];
  while (l.read_idx < l.live.size()) {
    LiveSegment& s = l.live[l.read_idx];
    if (!s.sealed || s.read_pos < s.segment->write_pos()) {
      break;
    }
    // Read to its end: records never drained were taken by damage.
    const uint64_t lost = s.records - s.drained;
    if (lost > 0) {
      s.resolved += lost;
      l.counters.lost_corrupt += lost;
      l.undrained_events -= lost;
      l.undrained_bytes -= s.bytes - s.drained_bytes;
      if (!s.damage_reported) {
        // Damage with nothing valid after it in the segment reads like a
        // tail; in a segment whose record count is known it is a loss.
        ++stats_.corrupt_records;
        NoteDamage(s.segment->path(), s.read_pos,
                   std::to_string(lost) + " records unreadable at the end of the segment");
      }
    }
    s.segment->Unmap();
    ++l.read_idx;
  }
  Reclaim(level);
}

void SpillStore::ReleaseFile(Priority level, std::unique_ptr<Segment> segment) {
  Level& l = levels_[LevelIndex(level)];
  segment->Unmap();
  if (segment->header().segment_bytes != options_.segment_bytes ||
      segment->header().block_bytes != options_.block_bytes) {
    // A file from an older configuration: hand its space back.
    std::remove(segment->path().c_str());
    return;
  }
  SegmentHeader h = segment->header();
  h.state = SegmentState::kFree;
  if (Status s = segment->WriteHeader(h); !s.ok()) {
    NoteDamage(segment->path(), 0, "cannot mark segment free: " + s.message());
  }
  l.free.push_back(std::move(segment));
}

void SpillStore::Reclaim(Priority level) {
  Level& l = levels_[LevelIndex(level)];
  // Only segments before read_idx are read to their end.
  while (l.read_idx > 0 && l.live.front().sealed &&
         l.live.front().resolved >= l.live.front().records) {
    ReleaseFile(level, std::move(l.live.front().segment));
    l.live.pop_front();
    --l.read_idx;
  }
}

std::vector<SpillStore::PrefetchRange> SpillStore::TakePrefetchRanges(uint64_t ahead_bytes,
                                                                      uint64_t min_bytes) {
  std::vector<PrefetchRange> out;
  for (Level& l : levels_) {
    if (l.live.empty() || l.live.back().sealed) {
      continue;
    }
    LiveSegment& tail = l.live.back();
    const uint64_t end = tail.segment->data_bytes();
    const uint64_t from = std::max(tail.prefetched_to, tail.segment->write_pos());
    const uint64_t to = std::min(end, tail.segment->write_pos() + ahead_bytes);
    if (to <= from || (to - from < min_bytes && to < end)) {
      continue;
    }
    out.push_back(PrefetchRange{tail.segment->fd(), kSegmentHeaderBytes + from, to - from});
    tail.prefetched_to = to;
  }
  return out;
}

size_t SpillStore::DropIdleMappings() {
  size_t touched = 0;
  for (Level& l : levels_) {
    if (!l.resident || l.undrained_events > 0) {
      continue;
    }
    for (LiveSegment& s : l.live) {
      s.segment->DropResidentPages();
      ++touched;
    }
    l.resident = false;
  }
  return touched;
}

bool SpillStore::NextDrainWindow(Priority level, DrainWindow* window) {
  Level& l = levels_[LevelIndex(level)];
  AdvanceRead(level);
  if (l.read_idx >= l.live.size()) {
    return false;
  }
  LiveSegment& s = l.live[l.read_idx];
  if (s.read_pos >= s.segment->write_pos()) {
    return false;
  }
  if (Status st = s.segment->Map(); !st.ok()) {
    NoteDamage(s.segment->path(), s.read_pos, "cannot map for draining: " + st.message());
    return false;
  }
  l.resident = true;
  window->level = level;
  window->epoch = s.segment->header().epoch;
  window->block_bytes = s.segment->header().block_bytes;
  window->data = s.segment->data_view().substr(0, s.segment->write_pos());
  window->from = s.read_pos;
  return true;
}

void SpillStore::CommitDrain(const DrainWindow& window, uint64_t to, uint64_t records,
                             uint64_t bytes, const std::vector<uint64_t>& damage_offsets,
                             uint64_t corrupt_bytes) {
  Level& l = levels_[LevelIndex(window.level)];
  LiveSegment& s = l.live[l.read_idx];
  // Invariant: only the drain worker moves the read position.
  assert(s.segment->header().epoch == window.epoch && s.read_pos == window.from);
  s.read_pos = to;
  s.drained += records;
  s.drained_bytes += bytes;
  l.undrained_events -= records;
  l.undrained_bytes -= bytes;
  l.counters.drained += records;
  for (uint64_t offset : damage_offsets) {
    if (std::find(s.known_damage.begin(), s.known_damage.end(), offset) != s.known_damage.end()) {
      continue;
    }
    s.damage_reported = true;
    ++stats_.corrupt_records;
    NoteDamage(s.segment->path(), offset, "damaged record skipped while draining");
  }
  if (!damage_offsets.empty() && s.known_damage.empty()) {
    stats_.corrupt_bytes += corrupt_bytes;
  }
  AdvanceRead(window.level);
}

void SpillStore::Resolve(Priority level, uint32_t epoch32, uint64_t count) {
  Level& l = levels_[LevelIndex(level)];
  for (LiveSegment& s : l.live) {
    if (static_cast<uint32_t>(s.segment->header().epoch) == epoch32) {
      s.resolved += count;
      Reclaim(level);
      return;
    }
  }
  // Invariant: a segment is reclaimed only once all its records are resolved,
  // so a memory copy always finds its segment.
  assert(false && "resolve of a record whose segment is gone");
}

std::vector<int> SpillStore::TakeDirtyFds() {
  std::vector<int> fds;
  for (Level& l : levels_) {
    for (LiveSegment& s : l.live) {
      if (s.dirty) {
        s.dirty = false;
        fds.push_back(s.segment->fd());
      }
    }
  }
  return fds;
}

void SpillStore::RecordFsync(int64_t ns, bool ok) {
  ++stats_.fsyncs;
  stats_.fsync_ns_total += static_cast<uint64_t>(ns);
  stats_.fsync_ns_max = std::max(stats_.fsync_ns_max, static_cast<uint64_t>(ns));
  if (!ok) {
    ++stats_.fsync_errors;
  }
}

void SpillStore::NoteDamage(const std::string& path, uint64_t offset, std::string what) {
  if (damage_.size() < 64) {
    damage_.push_back(DamageReport{path, offset, std::move(what)});
  }
}

SpillStats SpillStore::Stats() const {
  SpillStats s = stats_;
  s.disk_budget_bytes = disk_budget_bytes_;
  s.segment_bytes = options_.segment_bytes;
  for (Priority p : kAllPriorities) {
    const Level& l = levels_[LevelIndex(p)];
    SpillLevelStats& out = s.levels[LevelIndex(p)];
    out = l.counters;
    out.events_on_disk = l.undrained_events;
    out.bytes_on_disk = l.undrained_bytes;
    out.segments_live = l.live.size();
    s.segments_live += l.live.size();
    s.segments_free += l.free.size();
  }
  s.disk_bytes_used = (s.segments_live + s.segments_free) * options_.segment_bytes;
  return s;
}

}  // namespace gridgate::spill
