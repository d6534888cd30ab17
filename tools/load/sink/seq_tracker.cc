#include "tools/load/sink/seq_tracker.h"

#include <algorithm>
#include <bit>
#include <cassert>

namespace gridgate::load {

bool SeqTracker::Mark(uint64_t seq) {
  assert(seq < kMaxSeq && "the caller checks sequence numbers against kMaxSeq");
  const size_t index = static_cast<size_t>(seq / 64);
  if (index >= words_.size()) {
    // Doubling keeps a long run of increasing numbers at amortized O(1).
    words_.resize(std::max(index + 1, words_.size() * 2), 0);
  }
  const uint64_t bit = uint64_t{1} << (seq % 64);
  if ((words_[index] & bit) != 0) {
    ++duplicates_;
    return false;
  }
  words_[index] |= bit;
  ++unique_;
  end_ = std::max(end_, seq + 1);
  return true;
}

bool SeqTracker::Seen(uint64_t seq) const {
  return (Word(static_cast<size_t>(seq / 64)) & (uint64_t{1} << (seq % 64))) != 0;
}

uint64_t SeqTracker::CountMissing(const SeqTracker& expected) const {
  uint64_t missing = 0;
  for (size_t i = 0; i < expected.words_.size(); ++i) {
    missing += static_cast<uint64_t>(std::popcount(expected.words_[i] & ~Word(i)));
  }
  return missing;
}

uint64_t SeqTracker::CountMissingBelow(uint64_t end) const {
  const size_t full_words = static_cast<size_t>(end / 64);
  uint64_t seen = 0;
  for (size_t i = 0; i < std::min(full_words, words_.size()); ++i) {
    seen += static_cast<uint64_t>(std::popcount(words_[i]));
  }
  if (end % 64 != 0) {
    const uint64_t mask = (uint64_t{1} << (end % 64)) - 1;
    seen += static_cast<uint64_t>(std::popcount(Word(full_words) & mask));
  }
  return end - seen;
}

void SeqTracker::Reset() {
  std::fill(words_.begin(), words_.end(), 0);
  unique_ = 0;
  duplicates_ = 0;
  end_ = 0;
}

}  // namespace gridgate::load
