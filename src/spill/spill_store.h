#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "event/event.h"
#include "spill/segment.h"
#include "spill/spill_options.h"
#include "spill/spill_stats.h"

namespace gridgate::spill {

// A stretch of one level's spilled records that the drain worker may read
// outside the owner's lock: nothing writes below `data.size()`, and the
// mapping stays until CommitDrain moves past it.
struct DrainWindow {
  Priority level = Priority::kLow;
  uint64_t epoch = 0;
  uint32_t block_bytes = 0;
  std::string_view data;  // the segment's data region up to its write position
  uint64_t from = 0;      // data offset of the next record to drain
};

// The disk tier: per priority level, a ring of fixed-size segment files in
// `dir/<level>/`, reused (never deleted and re-created) as sinks acknowledge
// what they held. Records are the memory tier's packed records, stamped with
// the segment's epoch and a checksum, so spilling is a copy.
//
// A level's segments, oldest first, hold its events in order. Each segment
// counts its records, how many were drained back to memory, and how many of
// those a sink acknowledged (Resolve); a segment goes back to the free pool
// only when all its records are resolved, so a crash never loses what was on
// disk. The free pool is shared by the levels (a free file moves to the level
// that needs it), under one disk budget.
//
// Not thread-safe: owned by the BackpressureFilter and called under its lock.
// The one exception is reading a DrainWindow, which the drain worker does
// outside the lock. Open() takes an exclusive lock file, so two processes
// never share a spill directory.
class SpillStore {
 public:
  // Opens (creating if need be) the spill directory and recovers what is in
  // it: every segment is scanned and checked, torn tails end a segment, and
  // damaged records are skipped, counted and reported (stats, damage()).
  // Damage never fails Open; a directory that cannot be created or locked,
  // or invalid options, do. Recovery streams: one segment is mapped at a time.
  static Result<std::unique_ptr<SpillStore>> Open(const SpillOptions& options,
                                                  size_t max_record_bytes, Clock* clock);
  ~SpillStore();
  SpillStore(const SpillStore&) = delete;
  SpillStore& operator=(const SpillStore&) = delete;

  // The first sequence number this gateway may hand out: above every record
  // on disk and every number leased before a crash.
  uint64_t next_seq() const { return next_seq_; }
  // Makes sure sequence numbers below `end` survive a restart unused, writing
  // the lease file (seq.state, with fsync) when it must. Call before handing
  // out numbers up to end - 1.
  Status LeaseSeqs(uint64_t end);

  // Where Append put a record.
  struct Appended {
    // The record as written (epoch and checksum stamped); valid until the
    // next call. A memory copy of it carries the segment's epoch, which is
    // how Resolve finds the segment.
    std::string_view record;
    // The segment file's descriptor, for a sync outside the lock.
    int fd = -1;
  };

  // Writes `event` with `seq` at the tail of its level. ResourceExhausted
  // when the disk budget or the disk is full; IoError otherwise. Precondition:
  // the record fits a block.
  Status Append(const Event& event, Seq seq, Appended* out);

  // Write-through: the record just appended is held in memory as well, so it
  // counts as drained. Precondition: !HasBacklog(level) before that Append.
  void MarkLastDrained(Priority level);

  // True while `level` has records on disk that were not drained to memory.
  bool HasBacklog(Priority level) const { return levels_[LevelIndex(level)].undrained_events > 0; }
  uint64_t BacklogEvents(Priority level) const {
    return levels_[LevelIndex(level)].undrained_events;
  }
  uint64_t BacklogEvents() const;

  // The next stretch of `level` to drain, or false when there is none now.
  bool NextDrainWindow(Priority level, DrainWindow* window);
  // The drain worker read `window` up to data offset `to` and handed
  // `records` valid records to memory; `corrupt` damaged stretches were
  // skipped (reported with the segment path).
  void CommitDrain(const DrainWindow& window, uint64_t to, uint64_t records, uint64_t bytes,
                   const std::vector<uint64_t>& damage_offsets, uint64_t corrupt_bytes);

  // `count` drained records of `level` whose memory copies carry `epoch32`
  // were acknowledged by a sink: their segment may be reclaimed.
  void Resolve(Priority level, uint32_t epoch32, uint64_t count);

  // The descriptors written since the last call, for a sync outside the lock.
  std::vector<int> TakeDirtyFds();
  // Records the outcome of one fdatasync (for the stats).
  void RecordFsync(int64_t ns, bool ok);

  // Shutdown: writes `records` (the level's memory queue, oldest first, each
  // a packed record) into fresh segments ahead of everything on disk, syncs
  // them, and then marks what they replace as consumed, so that a restart
  // finds every event exactly once and in order. Nothing else may be called
  // afterwards but Stats(). Precondition: no batch in flight.
  Status FlushLevel(Priority level, const std::vector<std::string_view>& records);

  SpillStats Stats() const;

  // A file range to read into the page cache ahead of the writer.
  struct PrefetchRange {
    int fd = -1;
    uint64_t offset = 0;  // in the file
    uint64_t bytes = 0;
  };
  // The ranges just ahead of each level's write position, up to
  // `ahead_bytes` past it, that were not handed out before, each at least
  // `min_bytes` (or reaching the segment's end). The first touch of a fresh
  // page of a mapped segment makes the kernel zero-fill it (and read ahead,
  // zero-filling more), which costs the spilling thread a fifth of its time
  // in a storm; readahead(2) of these ranges from another thread, outside the
  // filter's lock, moves that work off it. The fds stay owned by the store: a
  // file given back to the OS meanwhile makes the readahead a harmless
  // no-op or error.
  std::vector<PrefetchRange> TakePrefetchRanges(uint64_t ahead_bytes, uint64_t min_bytes);

  // For each level with nothing left to drain that was written or read since
  // the last call, drops the resident pages of its mapped segments
  // (Segment::DropResidentPages): after a storm the page cache keeps them,
  // but they no longer count in the gateway's RSS. Returns how many segments
  // it touched.
  size_t DropIdleMappings();
  // Damaged stretches found since Open (recovery and drain), the first 64.
  const std::vector<DamageReport>& damage() const { return damage_; }
  const SpillOptions& options() const { return options_; }

 private:
  struct LiveSegment {
    std::unique_ptr<Segment> segment;
    uint64_t records = 0;  // valid records written or recovered
    uint64_t bytes = 0;    // their record bytes
    uint64_t drained = 0;  // records read back into memory
    uint64_t drained_bytes = 0;
    uint64_t resolved = 0;       // acknowledged, or lost to damage
    uint64_t read_pos = 0;       // data offset of the next record to drain
    uint64_t prefetched_to = 0;  // data offset up to which TakePrefetchRanges went
    uint64_t first_seq = 0;
    bool sealed = false;  // the writer has moved on
    bool dirty = false;   // written since the last sync
    // Damage already reported by recovery, not to be counted again by drain.
    std::vector<uint64_t> known_damage;
    bool damage_reported = false;  // by recovery or drain
  };
  struct Level {
    std::string dir;
    std::deque<LiveSegment> live;  // oldest first
    size_t read_idx = 0;           // the segment being drained
    std::vector<std::unique_ptr<Segment>> free;
    uint32_t next_slot = 0;
    uint64_t undrained_events = 0;
    uint64_t undrained_bytes = 0;
    size_t last_append_bytes = 0;
    // Written or read since DropIdleMappings last dropped its pages.
    bool resident = false;
    SpillLevelStats counters;
  };

  SpillStore(const SpillOptions& options, size_t max_record_bytes, Clock* clock);

  Status Recover();
  Status RecoverLevel(Priority level);
  Status LockDirectory();
  // A mapped segment ready to write with a fresh epoch: a free file of this
  // level, a new file within the disk budget, or a free file of another level.
  Result<std::unique_ptr<Segment>> AcquireSegment(Priority level);
  // Seals the tail and appends a fresh segment to `level`'s live list.
  Status AddTailSegment(Priority level);
  SegmentHeader NewHeader(Priority level, uint32_t slot);
  // Gives a file that holds nothing back: to the free pool, or to the OS
  // when it does not have the configured size.
  void ReleaseFile(Priority level, std::unique_ptr<Segment> segment);
  // Moves the read position past segments that are sealed and fully read.
  void AdvanceRead(Priority level);
  // Returns fully resolved segments at the front to the free pool.
  void Reclaim(Priority level);
  void Seal(Priority level, size_t index);
  void NoteDamage(const std::string& path, uint64_t offset, std::string what);
  Status ReadSeqLease();
  uint64_t SegmentFiles() const;

  const SpillOptions options_;
  const size_t max_record_bytes_;
  Clock* const clock_;
  uint64_t disk_budget_bytes_ = 0;
  int lock_fd_ = -1;
  std::array<Level, kNumPriorities> levels_;
  uint64_t next_seq_ = 1;
  uint64_t seq_lease_ = 0;
  // One epoch counter for all levels: files move between levels, and a file
  // must never get back an epoch its old records still carry.
  uint64_t next_epoch_ = 1;
  std::vector<int> dirty_fds_;
  std::vector<DamageReport> damage_;
  SpillStats stats_;  // the counters not derived from levels_
};

}  // namespace gridgate::spill
