#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace gridgate::load {

// Which sequence numbers of a dense series (0, 1, 2, ... as the load sender
// numbers its events) have been seen, as a bitmap that grows with the largest
// number marked: one bit per number, so 10 million numbers take 1.25 MB.
// Sequence numbers must be below kMaxSeq (the caller checks input against it:
// a number read off the wire is not to be trusted with an allocation).
//
// Mark allocates only when `seq` is past the bitmap's end (the bitmap at least
// doubles then); everything else is allocation-free. Not thread-safe: the
// owner serializes every call.
class SeqTracker {
 public:
  // 2^31: a 256 MiB bitmap at most, far beyond a storm's tens of millions.
  static constexpr uint64_t kMaxSeq = uint64_t{1} << 31;

  // Records `seq`. True the first time; false, and one more duplicate, after.
  // Precondition: seq < kMaxSeq.
  bool Mark(uint64_t seq);

  bool Seen(uint64_t seq) const;

  // Distinct numbers marked, and Mark calls that found theirs already marked.
  uint64_t unique() const { return unique_; }
  uint64_t duplicates() const { return duplicates_; }

  // One past the largest number marked; 0 when none was.
  uint64_t end() const { return end_; }

  // How many numbers marked in `expected` are not marked here (with expected
  // = what the gateway accepted and this = what reached the sink: the lost).
  uint64_t CountMissing(const SeqTracker& expected) const;

  // How many numbers in [0, end) are not marked here.
  uint64_t CountMissingBelow(uint64_t end) const;

  // Forgets everything; keeps the bitmap's memory.
  void Reset();

 private:
  uint64_t Word(size_t index) const { return index < words_.size() ? words_[index] : 0; }

  std::vector<uint64_t> words_;  // bit (seq % 64) of words_[seq / 64]
  uint64_t unique_ = 0;
  uint64_t duplicates_ = 0;
  uint64_t end_ = 0;
};

}  // namespace gridgate::load
