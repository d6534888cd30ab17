// BackpressureFilter: the disk tier's side — draining spilled events back
// into memory, syncing segment files, and the shutdown flush.

#include <fcntl.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "event/record_codec.h"
#include "filter/backpressure_filter.h"
#include "spill/segment.h"
#include "spill/segment_reader.h"

namespace gridgate::filter {

size_t BackpressureFilter::DrainOnce(size_t max_bytes) {
  spill::DrainWindow window;
  size_t room = 0;
  {
    MutexLock lock(&mu_);
    drain_work_ = false;
    if (store_ == nullptr || watermarks_.pressured() || store_->BacklogEvents() == 0) {
      return 0;
    }
    // Fill memory back up to the low watermark, no further: above it the
    // spill policy would start again.
    const size_t used = budget_.used();
    if (used >= watermarks_.low_bytes()) {
      return 0;
    }
    room = std::min(max_bytes, watermarks_.low_bytes() - used);
    bool found = false;
    for (Priority p : kAllPriorities) {
      if (store_->HasBacklog(p) && store_->NextDrainWindow(p, &window)) {
        found = true;
        break;
      }
    }
    if (!found) {
      return 0;
    }
  }

  // Outside the lock: the window's bytes are below the segment's write
  // position, which no one writes again, and its mapping stays until
  // CommitDrain moves past it. Producers keep pushing meanwhile.
  spill::SegmentReader reader(window.data, window.block_bytes, window.level, window.epoch,
                              window.from);
  std::vector<std::string_view> records;
  size_t bytes = 0;
  uint64_t to = window.from;
  std::string_view record;
  uint64_t offset = 0;
  bool at_end = true;
  while (reader.Next(&record, &offset)) {
    if (!records.empty() && bytes + record.size() > room) {
      to = offset;
      at_end = false;
      break;
    }
    records.push_back(record);
    bytes += record.size();
    to = reader.position();
  }
  if (at_end) {
    // Everything up to the write position was read; what follows the last
    // valid record there is damage, never to be read again.
    to = window.data.size();
  }

  bool wake = false;
  size_t moved = 0;
  {
    MutexLock lock(&mu_);
    buffer::LevelQueue& queue = *queues_[LevelIndex(window.level)];
    size_t moved_bytes = 0;
    for (std::string_view r : records) {
      char* dst = budget_.CanAdmit(window.level, r.size()) ? queue.Append(r.size()) : nullptr;
      if (dst == nullptr) {
        // Pushes took the room meanwhile: the rest stays on disk.
        to = static_cast<uint64_t>(r.data() - window.data.data());
        break;
      }
      // The copy keeps the segment's epoch: its ack resolves the disk record.
      std::memcpy(dst, r.data(), r.size());
      budget_.Charge(r.size());
      ++queued_events_;
      ++moved;
      moved_bytes += r.size();
    }
    // Damage is reported once the read position has passed it.
    std::vector<uint64_t> damage;
    for (uint64_t at : reader.damage_offsets()) {
      if (at < to) {
        damage.push_back(at);
      }
    }
    const uint64_t corrupt_bytes =
        damage.size() == reader.damage_offsets().size() ? reader.corrupt_bytes() : 0;
    store_->CommitDrain(window, to, moved, moved_bytes, damage, corrupt_bytes);
    UpdatePressureLocked(clock_->MonotonicNs());
    wake = moved > 0 && consumer_waiting_;
  }
  if (wake) {
    consumer_cv_.NotifyOne();
  }
  return moved;
}

void BackpressureFilter::WaitForDrainWork(std::chrono::nanoseconds timeout) {
  MutexLock lock(&mu_);
  if (!drain_work_ && !shut_down_) {
    drain_cv_.WaitFor(&mu_, timeout);
  }
}

void BackpressureFilter::WakeDrainWorker() {
  {
    MutexLock lock(&mu_);
    drain_work_ = true;
  }
  drain_cv_.NotifyAll();
}

void BackpressureFilter::SyncFds(std::vector<int> fds) {
  std::sort(fds.begin(), fds.end());
  fds.erase(std::unique(fds.begin(), fds.end()), fds.end());
  std::vector<std::pair<int64_t, bool>> results;
  for (int fd : fds) {
    const auto start = std::chrono::steady_clock::now();
    const bool ok = spill::Segment::SyncFd(fd).ok();
    results.emplace_back(std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::steady_clock::now() - start)
                             .count(),
                         ok);
  }
  MutexLock lock(&mu_);
  for (const auto& [ns, ok] : results) {
    store_->RecordFsync(ns, ok);
  }
}

void BackpressureFilter::SyncSpill() {
  std::vector<int> fds;
  {
    MutexLock lock(&mu_);
    if (store_ == nullptr) {
      return;
    }
    fds = store_->TakeDirtyFds();
  }
  if (!fds.empty()) {
    SyncFds(std::move(fds));
  }
}

void BackpressureFilter::PrefetchSpill() {
  // 32 MiB ahead is 0.4 s of a 80 MB/s spill; 4 MiB steps keep the calls few.
  constexpr uint64_t kAheadBytes = uint64_t{32} << 20;
  constexpr uint64_t kMinStepBytes = uint64_t{4} << 20;
  std::vector<spill::SpillStore::PrefetchRange> ranges;
  {
    MutexLock lock(&mu_);
    if (store_ == nullptr) {
      return;
    }
    ranges = store_->TakePrefetchRanges(kAheadBytes, kMinStepBytes);
  }
  for (const auto& r : ranges) {
    // Advice only: a failure costs the writer the page faults, nothing else.
    (void)posix_fadvise(r.fd, static_cast<off_t>(r.offset), static_cast<off_t>(r.bytes),
                        POSIX_FADV_WILLNEED);
  }
}

Status BackpressureFilter::FlushToDisk() {
  MutexLock lock(&mu_);
  if (store_ == nullptr) {
    return Status::Unavailable("no disk tier to flush to");
  }
  if (!batches_in_flight_.empty()) {
    return Status::Unavailable(std::to_string(batches_in_flight_.size()) +
                               " batches are in flight: ack or return them before the flush");
  }
  const int64_t now_ns = clock_->MonotonicNs();
  Status first_error;
  for (Priority p : kAllPriorities) {
    buffer::LevelQueue& queue = *queues_[LevelIndex(p)];
    Status s = store_->FlushLevel(p, queue.Records());
    if (!s.ok()) {
      // Those events stay counted as queued: the ledger shows what was lost.
      if (first_error.ok()) {
        first_error = s;
      }
      continue;
    }
    while (!queue.empty()) {
      const size_t size = record::RecordSizeAt(queue.Front());
      queue.PopFront(now_ns);
      budget_.Credit(size);
      --queued_events_;
    }
  }
  UpdatePressureLocked(now_ns);
  return first_error;
}

}  // namespace gridgate::filter
