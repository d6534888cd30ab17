#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "spill/segment_format.h"

namespace gridgate::spill {

// One segment file of a level's ring: its descriptor, its header, and while
// needed a MAP_SHARED mapping of its data region. Space is reserved with
// fallocate before anything is mapped, so a full disk is an error from Create
// and never a SIGBUS on a store into the mapping.
//
// Not thread-safe: owned by the SpillStore and used under the filter's lock,
// except that the drain worker may read a mapped region that no one writes.
// The descriptor stays open for the segment's lifetime, so a sync may run on
// fd() outside the lock.
class Segment {
 public:
  // Creates (or reuses) the file at `path` with `header.segment_bytes` bytes
  // reserved, and writes `header`. ResourceExhausted when the disk is full,
  // IoError otherwise.
  static Result<std::unique_ptr<Segment>> Create(const std::string& path,
                                                 const SegmentHeader& header);

  // Opens an existing segment file and reads its header. Corruption when the
  // header is not valid (the caller may still reuse the file via Reset).
  static Result<std::unique_ptr<Segment>> Open(const std::string& path);

  ~Segment();
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  // Rewrites the header (pwrite). The data region is untouched.
  Status WriteHeader(const SegmentHeader& header);
  // Takes over the file for new use: new header, write position at 0. The
  // old records stay on disk but have another epoch, so no reader takes them
  // for new ones.
  Status Reset(const SegmentHeader& header);

  // Moves the file to `new_path` (same filesystem); the descriptor stays.
  Status Rename(const std::string& new_path);

  // Maps the data region (idempotent). IoError when mmap fails.
  Status Map();
  // Drops the mapping (idempotent); the data stays in the file.
  void Unmap();
  // Drops this process's view of the mapped pages (madvise MADV_DONTNEED on
  // the shared file mapping): the bytes stay in the file and the page cache
  // (dirty ones are still written back), the process's RSS falls, and the
  // next access faults the pages in again. No-op when not mapped.
  void DropResidentPages();
  bool mapped() const { return data_ != nullptr; }

  // Space for a record of `size` bytes at the write position, moving to the
  // next block (and padding the rest of this one) when it does not fit here.
  // nullptr when the segment is full. Precondition: mapped(), size <= block.
  char* Append(size_t size);

  // fdatasync of the file. Safe outside the owner's lock.
  static Status SyncFd(int fd);

  // The data region; valid while mapped().
  char* data() const { return data_; }
  std::string_view data_view() const { return std::string_view(data_, data_bytes()); }
  uint64_t data_bytes() const { return header_.segment_bytes - kSegmentHeaderBytes; }

  const SegmentHeader& header() const { return header_; }
  const std::string& path() const { return path_; }
  int fd() const { return fd_; }

  // Where the next record goes (data offset). Set by recovery for segments
  // read back from disk.
  uint64_t write_pos() const { return write_pos_; }
  void set_write_pos(uint64_t pos) { write_pos_ = pos; }

 private:
  Segment(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}

  std::string path_;
  const int fd_;
  SegmentHeader header_;
  char* data_ = nullptr;
  uint64_t write_pos_ = 0;
};

}  // namespace gridgate::spill
