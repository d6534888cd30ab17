#include "spill/segment.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/errno_text.h"
#include "spill/segment_reader.h"

namespace gridgate::spill {
namespace {

Status Errno(const std::string& what, const std::string& path) {
  const int err = errno;
  std::string message = what + " " + path + ": " + ErrnoText(err);
  if (err == ENOSPC || err == EDQUOT) {
    return Status::ResourceExhausted(message);
  }
  return Status::IoError(message);
}

}  // namespace

Result<std::unique_ptr<Segment>> Segment::Create(const std::string& path,
                                                 const SegmentHeader& header) {
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Errno("cannot create", path);
  }
  std::unique_ptr<Segment> segment(new Segment(path, fd));
  // Reserve every byte now: a store into a mapped page the disk cannot back
  // would be a SIGBUS instead of this error.
  const int rc = posix_fallocate(fd, 0, static_cast<off_t>(header.segment_bytes));
  if (rc != 0) {
    errno = rc;
    Status s = Errno("cannot reserve space for", path);
    unlink(path.c_str());
    return s;
  }
  if (Status s = segment->Reset(header); !s.ok()) {
    return s;
  }
  return segment;
}

Result<std::unique_ptr<Segment>> Segment::Open(const std::string& path) {
  const int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    return Errno("cannot open", path);
  }
  std::unique_ptr<Segment> segment(new Segment(path, fd));
  char buf[kHeaderUsedBytes];
  const ssize_t n = pread(fd, buf, sizeof(buf), 0);
  if (n < 0) {
    return Errno("cannot read the header of", path);
  }
  Result<SegmentHeader> header = DecodeSegmentHeader(std::string_view(buf, static_cast<size_t>(n)));
  if (!header.ok()) {
    return Status::Corruption(path + ": " + header.status().message());
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    return Errno("cannot stat", path);
  }
  if (static_cast<uint64_t>(st.st_size) < header->segment_bytes) {
    return Status::Corruption(path + ": file is " + std::to_string(st.st_size) +
                              " bytes, its header says " + std::to_string(header->segment_bytes));
  }
  segment->header_ = *header;
  return segment;
}

Segment::~Segment() {
  Unmap();
  close(fd_);
}

Status Segment::WriteHeader(const SegmentHeader& header) {
  const std::string bytes = EncodeSegmentHeader(header);
  if (pwrite(fd_, bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size())) {
    return Errno("cannot write the header of", path_);
  }
  header_ = header;
  return Status::Ok();
}

Status Segment::Reset(const SegmentHeader& header) {
  if (mapped() && header.segment_bytes != header_.segment_bytes) {
    Unmap();
  }
  write_pos_ = 0;
  return WriteHeader(header);
}

Status Segment::Rename(const std::string& new_path) {
  if (rename(path_.c_str(), new_path.c_str()) != 0) {
    return Errno("cannot rename " + path_ + " to", new_path);
  }
  path_ = new_path;
  return Status::Ok();
}

Status Segment::Map() {
  if (data_ != nullptr) {
    return Status::Ok();
  }
  void* p = mmap(nullptr, data_bytes(), PROT_READ | PROT_WRITE, MAP_SHARED, fd_,
                 static_cast<off_t>(kSegmentHeaderBytes));
  if (p == MAP_FAILED) {
    return Errno("cannot map", path_);
  }
  data_ = static_cast<char*>(p);
  return Status::Ok();
}

void Segment::Unmap() {
  if (data_ != nullptr) {
    munmap(data_, data_bytes());
    data_ = nullptr;
  }
}

void Segment::DropResidentPages() {
  if (data_ != nullptr) {
    // Cannot fail on a range this segment mapped itself.
    (void)madvise(data_, data_bytes(), MADV_DONTNEED);
  }
}

char* Segment::Append(size_t size) {
  const uint64_t block = header_.block_bytes;
  const uint64_t block_left = block - write_pos_ % block;
  if (size > block_left) {
    if (write_pos_ + block_left >= data_bytes()) {
      return nullptr;
    }
    WritePadding(data_ + write_pos_, block_left, header_.level, header_.epoch);
    write_pos_ += block_left;
  }
  if (write_pos_ + size > data_bytes()) {
    return nullptr;
  }
  char* dst = data_ + write_pos_;
  write_pos_ += size;
  return dst;
}

Status Segment::SyncFd(int fd) {
  if (fdatasync(fd) != 0) {
    return Errno("fdatasync failed on", "fd " + std::to_string(fd));
  }
  return Status::Ok();
}

}  // namespace gridgate::spill
