#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "buffer/level_queue.h"
#include "buffer/memory_budget.h"
#include "buffer/slab_pool.h"
#include "buffer/watermark_tracker.h"
#include "common/mutex.h"
#include "common/rate_meter.h"
#include "common/result.h"
#include "event/event.h"
#include "filter/filter_options.h"
#include "filter/filter_stats.h"
#include "filter/pop_batch.h"
#include "filter/push_outcome.h"
#include "spill/spill_store.h"

namespace gridgate::filter {

// How much one Pop may hand out. A small batch keeps a critical event from
// waiting behind a long delivery.
struct PopLimits {
  size_t max_events = 1024;
  size_t max_bytes = size_t{1} << 20;
};

// The BackpressureFilter takes every event the sources decode, holds it under a
// byte budget, and hands it to the dispatcher highest priority first. It never
// drops an event: each one is queued, in flight, delivered, or refused back to
// its pusher with a reason, and the stats count each (the ledger).
//
// Memory tier: one FIFO per priority level of packed records in slabs mapped
// from the OS, grown slab by slab up to the budget, with idle slabs unmapped
// after a quiet period so that the process's RSS falls again after a storm.
//
// Disk tier (with options.spill): above the high watermark, normal and low
// events go to a spill::SpillStore, as does anything memory cannot hold; while
// a level has events on disk, its new events follow them there, so FIFO holds
// across the tiers. DrainOnce (the drain worker) brings them back under the
// low watermark, highest level first. Disk space is reclaimed only after the
// sink acked the event.
//
// Thread-safe. Push may be called from any number of threads at once; Pop, Ack
// and Return belong to one consumer thread (the dispatcher); DrainOnce and
// SyncSpill to one drain worker. Each call takes the lock once per batch,
// never once per event (a push that must fsync takes it once more).
class BackpressureFilter {
 public:
  // InvalidArgument, naming the field, when the options are not valid. With
  // a disk tier, opens and recovers its directory first (see
  // spill::SpillStore::Open): what it finds is on disk, to be drained.
  static Result<std::unique_ptr<BackpressureFilter>> Create(const FilterOptions& options);

  ~BackpressureFilter();
  BackpressureFilter(const BackpressureFilter&) = delete;
  BackpressureFilter& operator=(const BackpressureFilter&) = delete;

  // Offers a batch of events. For each events[i], outcomes[i] says what
  // happened: queued or spilled (with its sequence number) or refused (with a
  // reason and, where retrying can help, a retry-after hint). With fsync
  // policy "batch", spilled records are on stable storage before it returns. An event that is
  // refused changes nothing but the refusal counters; the others are still taken. The filter copies
  // what it keeps: `events` may be freed on return.
  //
  // InvalidArgument, with nothing changed, when `events` is empty or
  // `outcomes` is not the same size. Never blocks on the consumer; wakes it
  // if it is waiting in Pop.
  Status Push(std::span<const Event> events, std::span<PushOutcome> outcomes);

  // Fills `batch` (its previous content is dropped) with at most `limits` of
  // the queued events, all of the most urgent level before any of the next,
  // oldest first within a level. Always hands out at least one event when any
  // is queued, even one larger than limits.max_bytes. Waits up to `timeout`
  // while nothing is queued; a push wakes it at once.
  //
  // OK with a possibly empty batch (timed out); the events are in flight until
  // Ack or Return. InvalidArgument when `batch` is still in flight or the
  // limits are zero; Unavailable once Shutdown() was called and nothing is
  // left queued. Consumer thread only.
  Status Pop(const PopLimits& limits, std::chrono::nanoseconds timeout, PopBatch* batch);

  // The sink took `batch`: its events count as delivered and their bytes
  // leave the budget. InvalidArgument, with nothing changed, when `batch` is
  // not in flight (never popped, or already acked or returned).
  Status Ack(PopBatch* batch);

  // The sink failed `batch`: its events go back to the head of their levels,
  // ahead of everything queued after them, and will be popped again.
  // InvalidArgument as for Ack.
  Status Return(PopBatch* batch);

  // Refuses every later push (kShuttingDown) and wakes the consumer, which
  // then pops what is left and finally gets Unavailable.
  void Shutdown();

  // Unmaps the slabs that the quiet-period rule allows to go (Pop does this
  // on its own), and under the same rule drops the resident pages of spill
  // segments whose level has nothing left on disk (SpillStore::
  // DropIdleMappings). The drain worker calls it when idle.
  void Maintain();

  // Drain worker: moves up to `max_bytes` of spilled records back into
  // memory, from the most urgent level with a backlog, while used memory is
  // under the low watermark. Reads the disk outside the lock. Returns the
  // events moved (0: nothing to do now). One thread at a time.
  size_t DrainOnce(size_t max_bytes);
  // Drain worker: waits up to `timeout` for drain work (an ack, a spill) or
  // Shutdown. Returns at once when there may be some.
  void WaitForDrainWork(std::chrono::nanoseconds timeout);
  // Ends a WaitForDrainWork at once (for stopping the drain worker).
  void WakeDrainWorker();
  // fdatasync of every segment written since the last call (fsync policy
  // "interval": the drain worker calls it every fsync_interval_ms).
  void SyncSpill();
  // Reads the spill files just ahead of each level's writer into the page
  // cache (SpillStore::TakePrefetchRanges, posix_fadvise WILLNEED outside the
  // lock), so that the thread that pushes does not zero-fill fresh pages
  // itself. The drain worker calls it on every round; cheap when nothing
  // spills.
  void PrefetchSpill();

  // After Shutdown, with the consumer and the drain worker stopped and no
  // batch in flight: writes every event held in memory to the disk tier,
  // ahead of its level's backlog, so that a restart delivers them all in
  // order. Unavailable without a disk tier or while a batch is in flight.
  Status FlushToDisk();

  FilterStats Stats() const;

 private:
  explicit BackpressureFilter(const FilterOptions& options);

  // The used-bytes bookkeeping after any change: the state machine and the
  // start of the current stretch at or under the low watermark.
  void UpdatePressureLocked(int64_t now_ns) REQUIRES(mu_);
  uint32_t RetryAfterMsLocked(Priority level, size_t record_bytes, int64_t now_ns) REQUIRES(mu_);
  void TakeReleasableSlabsLocked(int64_t now_ns, std::vector<std::unique_ptr<buffer::Slab>>* out)
      REQUIRES(mu_);
  bool SettleLocked(PopBatch* batch) REQUIRES(mu_);
  void Refuse(Priority level, RefuseReason reason, PushOutcome* outcome) REQUIRES(mu_);
  FilterState StateLocked() const REQUIRES(mu_);
  // Places one validated event: memory, disk, or a refusal. `fds` collects
  // the segment files written, for a sync after the lock.
  void PlaceLocked(const Event& event, PushOutcome* outcome, std::vector<int>* fds, int64_t now_ns)
      REQUIRES(mu_);
  // Writes the record for `event` into its level's memory queue, charged to
  // the budget; false (nothing changed) when the budget or the slabs say no.
  bool QueueInMemoryLocked(const Event& event, Seq seq) REQUIRES(mu_);
  void ResolveDiskCopiesLocked(const PopBatch& batch) REQUIRES(mu_);
  void SyncFds(std::vector<int> fds) EXCLUDES(mu_);

  const FilterOptions options_;
  Clock* const clock_;
  const size_t max_record_bytes_;

  mutable Mutex mu_;
  CondVar consumer_cv_;
  CondVar drain_cv_;
  bool consumer_waiting_ GUARDED_BY(mu_) = false;
  bool shut_down_ GUARDED_BY(mu_) = false;

  // The pool is declared before the queues: they hand their slabs back to it
  // when destroyed.
  buffer::SlabPool pool_ GUARDED_BY(mu_);
  std::array<std::unique_ptr<buffer::LevelQueue>, kNumPriorities> queues_ GUARDED_BY(mu_);
  buffer::MemoryBudget budget_ GUARDED_BY(mu_);
  buffer::WatermarkTracker watermarks_ GUARDED_BY(mu_);
  // The disk tier, or null.
  std::unique_ptr<spill::SpillStore> store_ GUARDED_BY(mu_);
  bool drain_work_ GUARDED_BY(mu_) = false;

  uint64_t next_seq_ GUARDED_BY(mu_) = 1;
  uint64_t next_batch_id_ GUARDED_BY(mu_) = 1;
  std::vector<uint64_t> batches_in_flight_ GUARDED_BY(mu_);
  size_t queued_events_ GUARDED_BY(mu_) = 0;
  // -1 while used memory is over the low watermark.
  int64_t at_or_under_low_since_ns_ GUARDED_BY(mu_) = 0;
  RateMeter delivered_bytes_ GUARDED_BY(mu_);

  std::array<LevelStats, kNumPriorities> level_stats_ GUARDED_BY(mu_){};
  std::array<uint64_t, kNumRefuseReasons> refused_by_reason_ GUARDED_BY(mu_){};
  uint64_t pressured_transitions_ GUARDED_BY(mu_) = 0;
  uint64_t seq_lease_errors_ GUARDED_BY(mu_) = 0;
};

}  // namespace gridgate::filter
