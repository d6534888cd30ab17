#include "filter/backpressure_filter.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>

#include "common/coding.h"
#include "event/record_codec.h"

namespace gridgate::filter {
namespace {

constexpr int64_t kNsPerMs = 1'000'000;

size_t Fraction(size_t total, double fraction) {
  return static_cast<size_t>(std::floor(static_cast<double>(total) * fraction));
}

// Enough slabs for the whole budget, plus the slack of a partly read head
// slab and a partly written tail slab on every level. A record never
// straddles two slabs, so a full slab may leave up to one record less a byte
// unused at its end: in the worst case it holds slab - max_record + 1 bytes.
size_t MaxSlabs(const FilterOptions& o) {
  const size_t min_fill = o.slab_bytes - o.MaxRecordBytes() + 1;
  return (o.budget_bytes + min_fill - 1) / min_fill + 2 * kNumPriorities;
}

}  // namespace

Result<std::unique_ptr<BackpressureFilter>> BackpressureFilter::Create(
    const FilterOptions& options) {
  if (Status s = options.Validate(); !s.ok()) {
    return s;
  }
  std::unique_ptr<spill::SpillStore> store;
  if (options.spill.has_value()) {
    auto opened = spill::SpillStore::Open(*options.spill, options.MaxRecordBytes(), options.clock);
    if (!opened.ok()) {
      return opened.status();
    }
    store = std::move(opened).value();
  }
  std::unique_ptr<BackpressureFilter> filter(new BackpressureFilter(options));
  MutexLock lock(&filter->mu_);
  if (store != nullptr) {
    filter->next_seq_ = store->next_seq();
    filter->drain_work_ = store->BacklogEvents() > 0;
  }
  filter->store_ = std::move(store);
  return filter;
}

BackpressureFilter::BackpressureFilter(const FilterOptions& options)
    : options_(options),
      clock_(options.clock),
      max_record_bytes_(options.MaxRecordBytes()),
      pool_(options.slab_bytes, MaxSlabs(options)),
      budget_(options.budget_bytes,
              Fraction(options.budget_bytes, options.critical_reserve_fraction),
              Fraction(options.budget_bytes, options.high_reserve_fraction)),
      watermarks_(Fraction(options.budget_bytes, options.low_watermark_fraction),
                  Fraction(options.budget_bytes, options.high_watermark_fraction)) {
  MutexLock lock(&mu_);
  for (auto& queue : queues_) {
    queue = std::make_unique<buffer::LevelQueue>(&pool_);
  }
  at_or_under_low_since_ns_ = clock_->MonotonicNs();
}

BackpressureFilter::~BackpressureFilter() {
  MutexLock lock(&mu_);
  for (auto& queue : queues_) {
    queue.reset();
  }
}

void BackpressureFilter::Refuse(Priority level, RefuseReason reason, PushOutcome* outcome) {
  outcome->result = PushResult::kRefused;
  outcome->reason = reason;
  outcome->retry_after_ms = 0;
  outcome->seq = Seq{};
  ++refused_by_reason_[static_cast<size_t>(reason)];
  if (IsValidPriority(static_cast<uint8_t>(level))) {
    ++level_stats_[LevelIndex(level)].refused;
  }
}

bool BackpressureFilter::QueueInMemoryLocked(const Event& event, Seq seq) {
  const size_t size = record::RecordSize(event);
  if (!budget_.CanAdmit(event.priority, size)) {
    return false;
  }
  char* dst = queues_[LevelIndex(event.priority)]->Append(size);
  if (dst == nullptr) {
    return false;
  }
  record::EncodeRecord(event, seq, dst);
  budget_.Charge(size);
  ++queued_events_;
  return true;
}

void BackpressureFilter::PlaceLocked(const Event& event, PushOutcome* outcome,
                                     std::vector<int>* fds, int64_t now_ns) {
  const Priority level = event.priority;
  const Seq seq{next_seq_};
  bool queued = false;
  bool spilled = false;
  Status disk_status;
  if (store_ == nullptr) {
    queued = QueueInMemoryLocked(event, seq);
  } else {
    // FIFO across tiers: behind a backlog on disk, a level's events join it.
    const bool backlog = store_->HasBacklog(level);
    const bool pressure = watermarks_.pressured() && level >= Priority::kNormal;
    spill::SpillStore::Appended appended;
    if (options_.spill->mode == spill::DurabilityMode::kWriteThrough) {
      disk_status = store_->Append(event, seq, &appended);
      if (disk_status.ok()) {
        if (fds->empty() || fds->back() != appended.fd) {
          fds->push_back(appended.fd);
        }
        // The memory copy is the disk record itself (epoch and checksum
        // stamped), which is how its ack finds the segment to reclaim.
        char* dst = nullptr;
        const size_t size = appended.record.size();
        if (!backlog && !pressure && budget_.CanAdmit(level, size)) {
          dst = queues_[LevelIndex(level)]->Append(size);
        }
        if (dst != nullptr) {
          std::memcpy(dst, appended.record.data(), size);
          budget_.Charge(size);
          ++queued_events_;
          store_->MarkLastDrained(level);
          queued = true;
        } else {
          spilled = true;
        }
      }
    } else {
      if (!backlog && !pressure) {
        queued = QueueInMemoryLocked(event, seq);
      }
      if (!queued) {
        disk_status = store_->Append(event, seq, &appended);
        if (disk_status.ok()) {
          if (fds->empty() || fds->back() != appended.fd) {
            fds->push_back(appended.fd);
          }
          spilled = true;
        } else if (!backlog) {
          // The disk is full but this level has nothing there: memory may
          // still take it without breaking its order.
          queued = QueueInMemoryLocked(event, seq);
        }
      }
    }
  }
  if (!queued && !spilled) {
    RefuseReason reason = RefuseReason::kMemoryFull;
    if (!disk_status.ok()) {
      reason = disk_status.code() == Status::Code::kResourceExhausted ? RefuseReason::kDiskFull
                                                                      : RefuseReason::kDiskError;
    }
    Refuse(level, reason, outcome);
    outcome->retry_after_ms = RetryAfterMsLocked(level, record::RecordSize(event), now_ns);
    return;
  }
  ++next_seq_;
  LevelStats& stats = level_stats_[LevelIndex(level)];
  ++stats.accepted;
  outcome->result = queued ? PushResult::kQueued : PushResult::kSpilled;
  outcome->reason = RefuseReason::kNone;
  outcome->retry_after_ms = 0;
  outcome->seq = seq;
}

Status BackpressureFilter::Push(std::span<const Event> events, std::span<PushOutcome> outcomes) {
  if (events.empty()) {
    return Status::InvalidArgument("push of an empty batch");
  }
  if (outcomes.size() != events.size()) {
    return Status::InvalidArgument("push of " + std::to_string(events.size()) +
                                   " events with room for " + std::to_string(outcomes.size()) +
                                   " outcomes");
  }
  bool wake_consumer = false;
  bool wake_drain = false;
  std::vector<int> fds;
  {
    MutexLock lock(&mu_);
    const int64_t now_ns = clock_->MonotonicNs();
    if (store_ != nullptr) {
      // Numbers handed out must never be handed out again after a crash.
      if (Status s = store_->LeaseSeqs(next_seq_ + events.size()); !s.ok()) {
        ++seq_lease_errors_;
      }
    }
    for (size_t i = 0; i < events.size(); ++i) {
      const Event& event = events[i];
      PushOutcome& outcome = outcomes[i];
      if (shut_down_) {
        Refuse(event.priority, RefuseReason::kShuttingDown, &outcome);
        continue;
      }
      if (!record::IsEncodable(event)) {
        Refuse(event.priority, RefuseReason::kInvalid, &outcome);
        continue;
      }
      if (event.payload.size() > options_.max_event_bytes) {
        Refuse(event.priority, RefuseReason::kTooLarge, &outcome);
        continue;
      }
      // Invariant (FilterOptions::Validate): the smallest level share, a slab
      // and a spill block each hold the largest record, so a refusal below
      // can clear.
      assert(record::RecordSize(event) <= max_record_bytes_);
      PlaceLocked(event, &outcome, &fds, now_ns);
      // Per event, so that a large batch starts spilling at the watermark.
      UpdatePressureLocked(now_ns);
      wake_consumer = wake_consumer || outcome.result == PushResult::kQueued;
      wake_drain = wake_drain || outcome.result == PushResult::kSpilled;
    }
    UpdatePressureLocked(now_ns);
    wake_consumer = wake_consumer && consumer_waiting_;
    // The drain worker has work only once memory is back under the low
    // watermark; until then an ack wakes it, not every spilling push.
    wake_drain = wake_drain && budget_.used() < watermarks_.low_bytes();
    if (wake_drain) {
      drain_work_ = true;
    }
  }
  if (wake_consumer) {
    consumer_cv_.NotifyOne();
  }
  if (wake_drain) {
    drain_cv_.NotifyOne();
  }
  if (!fds.empty() && options_.spill->fsync == spill::FsyncPolicy::kEveryBatch) {
    SyncFds(std::move(fds));
  }
  return Status::Ok();
}

Status BackpressureFilter::Pop(const PopLimits& limits, std::chrono::nanoseconds timeout,
                               PopBatch* batch) {
  if (limits.max_events == 0 || limits.max_bytes == 0) {
    return Status::InvalidArgument("pop limits must allow at least one event and one byte");
  }
  if (limits.max_bytes > UINT32_MAX - max_record_bytes_) {
    return Status::InvalidArgument("pop limit max_bytes must be under 4 GiB");
  }
  // Unmapped after the lock is released: munmap of a large slab takes a while.
  std::vector<std::unique_ptr<buffer::Slab>> to_unmap;
  MutexLock lock(&mu_);
  if (batch->in_flight()) {
    return Status::InvalidArgument("batch " + std::to_string(batch->id()) +
                                   " is still in flight: ack or return it before popping again");
  }
  batch->Clear();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (queued_events_ == 0 && !shut_down_) {
    const auto remaining = deadline - std::chrono::steady_clock::now();
    if (remaining <= std::chrono::nanoseconds::zero()) {
      break;
    }
    consumer_waiting_ = true;
    consumer_cv_.WaitFor(&mu_, remaining);
    consumer_waiting_ = false;
  }
  const int64_t now_ns = clock_->MonotonicNs();
  if (queued_events_ == 0 && shut_down_) {
    return Status::Unavailable("the filter is shut down and empty");
  }
  for (Priority p : kAllPriorities) {
    buffer::LevelQueue& queue = *queues_[LevelIndex(p)];
    LevelStats& stats = level_stats_[LevelIndex(p)];
    while (!queue.empty() && batch->size() < limits.max_events) {
      const char* record = queue.Front();
      const size_t size = record::RecordSizeAt(record);
      if (!batch->empty() && batch->bytes() + size > limits.max_bytes) {
        break;
      }
      batch->AddRecord(record, size);
      queue.PopFront(now_ns);
      --queued_events_;
      ++stats.in_flight_events;
      stats.in_flight_bytes += size;
    }
    if (batch->size() == limits.max_events || (!queue.empty() && !batch->empty())) {
      // Strict priority: a lower level waits until this one is drained.
      break;
    }
  }
  if (!batch->empty()) {
    batch->id_ = next_batch_id_++;
    batches_in_flight_.push_back(batch->id_);
  }
  TakeReleasableSlabsLocked(now_ns, &to_unmap);
  return Status::Ok();
}

bool BackpressureFilter::SettleLocked(PopBatch* batch) {
  auto it = std::find(batches_in_flight_.begin(), batches_in_flight_.end(), batch->id());
  if (batch->id() == 0 || it == batches_in_flight_.end()) {
    return false;
  }
  batches_in_flight_.erase(it);
  for (Priority p : kAllPriorities) {
    LevelStats& stats = level_stats_[LevelIndex(p)];
    // Invariant: a batch in flight is counted in flight.
    assert(stats.in_flight_events >= batch->events_by_level_[LevelIndex(p)]);
    stats.in_flight_events -= batch->events_by_level_[LevelIndex(p)];
    stats.in_flight_bytes -= batch->bytes_by_level_[LevelIndex(p)];
  }
  batch->id_ = 0;
  return true;
}

Status BackpressureFilter::Ack(PopBatch* batch) {
  MutexLock lock(&mu_);
  const uint64_t id = batch->id();
  if (!SettleLocked(batch)) {
    return Status::InvalidArgument("ack of batch " + std::to_string(id) +
                                   ", which is not in flight");
  }
  const int64_t now_ns = clock_->MonotonicNs();
  for (Priority p : kAllPriorities) {
    level_stats_[LevelIndex(p)].delivered += batch->events_by_level_[LevelIndex(p)];
  }
  budget_.Credit(batch->bytes());
  delivered_bytes_.Add(batch->bytes(), now_ns);
  UpdatePressureLocked(now_ns);
  if (store_ != nullptr) {
    ResolveDiskCopiesLocked(*batch);
    if (store_->BacklogEvents() > 0) {
      drain_work_ = true;
      drain_cv_.NotifyOne();
    }
  }
  return Status::Ok();
}

void BackpressureFilter::ResolveDiskCopiesLocked(const PopBatch& batch) {
  // Consecutive records of one segment are resolved together.
  Priority run_level = Priority::kCritical;
  uint32_t run_epoch = 0;
  uint64_t run_count = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    const char* header = batch.record(i).data();
    const uint32_t epoch = DecodeFixed32(header + record::offset::kEpoch);
    if (epoch == 0) {
      continue;  // memory only
    }
    const Priority level = record::RecordLevel(header);
    if (run_count > 0 && (epoch != run_epoch || level != run_level)) {
      store_->Resolve(run_level, run_epoch, run_count);
      run_count = 0;
    }
    run_level = level;
    run_epoch = epoch;
    ++run_count;
  }
  if (run_count > 0) {
    store_->Resolve(run_level, run_epoch, run_count);
  }
}

Status BackpressureFilter::Return(PopBatch* batch) {
  MutexLock lock(&mu_);
  const uint64_t id = batch->id();
  if (!SettleLocked(batch)) {
    return Status::InvalidArgument("return of batch " + std::to_string(id) +
                                   ", which is not in flight");
  }
  for (size_t i = 0; i < batch->size(); ++i) {
    const std::string_view record = batch->record(i);
    const Priority level = record::RecordLevel(record.data());
    queues_[LevelIndex(level)]->Return(record);
    ++level_stats_[LevelIndex(level)].returned;
    ++queued_events_;
  }
  // The bytes stay charged: they moved from in flight back to queued.
  return Status::Ok();
}

void BackpressureFilter::Shutdown() {
  {
    MutexLock lock(&mu_);
    shut_down_ = true;
  }
  consumer_cv_.NotifyAll();
  drain_cv_.NotifyAll();
}

void BackpressureFilter::Maintain() {
  std::vector<std::unique_ptr<buffer::Slab>> to_unmap;
  MutexLock lock(&mu_);
  const int64_t now_ns = clock_->MonotonicNs();
  TakeReleasableSlabsLocked(now_ns, &to_unmap);
  // The same quiet-period rule for the spill segments' mapped pages: a level
  // with nothing left on disk stops counting them in the RSS.
  if (store_ != nullptr && at_or_under_low_since_ns_ >= 0 &&
      now_ns - at_or_under_low_since_ns_ >= options_.release_quiet_period_ms * kNsPerMs) {
    store_->DropIdleMappings();
  }
  // to_unmap is destroyed after the lock (declared before it).
}

void BackpressureFilter::UpdatePressureLocked(int64_t now_ns) {
  const size_t used = budget_.used();
  if (watermarks_.Update(used) == buffer::WatermarkTracker::Crossing::kRoseToHigh) {
    ++pressured_transitions_;
  }
  if (used > watermarks_.low_bytes()) {
    at_or_under_low_since_ns_ = -1;
  } else if (at_or_under_low_since_ns_ < 0) {
    at_or_under_low_since_ns_ = now_ns;
  }
}

uint32_t BackpressureFilter::RetryAfterMsLocked(Priority level, size_t record_bytes,
                                                int64_t now_ns) {
  const double rate = delivered_bytes_.PerSecond(now_ns);
  if (rate <= 0) {
    return options_.retry_after_default_ms;
  }
  // Enough must be delivered that this event fits its level's share and the
  // pressure clears, whichever needs more.
  const size_t used = budget_.used();
  const size_t limit = budget_.LimitFor(level);
  const size_t to_fit = used + record_bytes > limit ? used + record_bytes - limit : 0;
  const size_t to_clear = used > watermarks_.low_bytes() ? used - watermarks_.low_bytes() : 0;
  const double ms = static_cast<double>(std::max(to_fit, to_clear)) * 1000.0 / rate;
  return static_cast<uint32_t>(std::clamp(ms, static_cast<double>(options_.retry_after_min_ms),
                                          static_cast<double>(options_.retry_after_max_ms)));
}

void BackpressureFilter::TakeReleasableSlabsLocked(
    int64_t now_ns, std::vector<std::unique_ptr<buffer::Slab>>* out) {
  if (at_or_under_low_since_ns_ < 0 || pool_.idle_slabs() == 0) {
    return;
  }
  const int64_t quiet_ns = options_.release_quiet_period_ms * kNsPerMs;
  if (now_ns - at_or_under_low_since_ns_ < quiet_ns) {
    return;
  }
  *out = pool_.TakeIdleSince(now_ns - quiet_ns);
}

FilterState BackpressureFilter::StateLocked() const {
  if (watermarks_.pressured()) {
    return store_ != nullptr ? FilterState::kSpilling : FilterState::kPressured;
  }
  if (store_ != nullptr && store_->BacklogEvents() > 0) {
    return FilterState::kDraining;
  }
  return FilterState::kNormal;
}

FilterStats BackpressureFilter::Stats() const {
  MutexLock lock(&mu_);
  FilterStats s;
  const int64_t now_unix_ns = clock_->UnixNs();
  for (Priority p : kAllPriorities) {
    const buffer::LevelQueue& queue = *queues_[LevelIndex(p)];
    LevelStats& l = s.levels[LevelIndex(p)];
    l = level_stats_[LevelIndex(p)];
    l.queued_events = queue.events();
    l.queued_bytes = queue.bytes();
    if (const char* head = queue.Front(); head != nullptr) {
      Event event;
      size_t size = 0;
      if (record::DecodeRecord(std::string_view(head, record::RecordSizeAt(head)), &event, &size)
              .ok()) {
        l.oldest_queued_age_ms =
            std::max<int64_t>(0, (now_unix_ns - event.ingest_time_ns) / kNsPerMs);
      }
    }
  }
  s.state = StateLocked();
  s.pressured_transitions = pressured_transitions_;
  s.budget_bytes = budget_.budget_bytes();
  s.used_bytes = budget_.used();
  s.peak_used_bytes = budget_.peak();
  s.mapped_bytes = pool_.mapped_bytes();
  s.high_watermark_bytes = watermarks_.high_bytes();
  s.low_watermark_bytes = watermarks_.low_bytes();
  s.critical_reserve_bytes = budget_.budget_bytes() - budget_.LimitFor(Priority::kHigh);
  s.high_reserve_bytes = budget_.LimitFor(Priority::kHigh) - budget_.LimitFor(Priority::kNormal);
  s.slab_bytes = pool_.slab_bytes();
  s.slabs_mapped = pool_.mapped_slabs();
  s.slabs_idle = pool_.idle_slabs();
  s.slabs_mapped_total = pool_.slabs_mapped_total();
  s.slabs_unmapped_total = pool_.slabs_unmapped_total();
  s.slab_map_failures = pool_.map_failures();
  s.refused_by_reason = refused_by_reason_;
  s.batches_in_flight = batches_in_flight_.size();
  s.delivered_bytes_per_second = delivered_bytes_.PerSecond(clock_->MonotonicNs());
  s.seq_lease_errors = seq_lease_errors_;
  if (store_ != nullptr) {
    s.spill_enabled = true;
    s.spill = store_->Stats();
    for (Priority p : kAllPriorities) {
      const spill::SpillLevelStats& d = s.spill.levels[LevelIndex(p)];
      LevelStats& l = s.levels[LevelIndex(p)];
      l.on_disk_events = d.events_on_disk;
      l.on_disk_bytes = d.bytes_on_disk;
      l.spilled = d.spilled;
      l.drained = d.drained;
      l.recovered = d.recovered;
      l.lost_corrupt = d.lost_corrupt;
    }
  }
  return s;
}

}  // namespace gridgate::filter
