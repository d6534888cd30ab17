#include "sink/file/file_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>
#include <utility>

#include "common/errno_text.h"
#include "sink/common/delivered_format.h"

namespace gridgate::sink {
namespace {

Status ErrnoStatus(std::string_view what, const std::string& path, int err) {
  return Status::IoError("file sink: " + std::string(what) + " " + path + ": " + ErrnoText(err));
}

std::string RotatedPath(const std::string& path, int index) {
  return path + "." + std::to_string(index);
}

// rename(2), where a missing `from` is not an error (nothing to shift).
Status RenameIfExists(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus("cannot rename", from + " to " + to, errno);
  }
  return Status::Ok();
}

}  // namespace

Status FileSinkOptions::Validate() const {
  if (path.empty()) {
    return Status::InvalidArgument("file sink: path must not be empty");
  }
  if (path.back() == '/') {
    return Status::InvalidArgument("file sink: path must name a file, not a directory: " + path);
  }
  if (max_file_bytes == 0) {
    return Status::InvalidArgument("file sink: max_file_bytes must be at least 1");
  }
  if (max_files < 1) {
    return Status::InvalidArgument("file sink: max_files must be at least 1, not " +
                                   std::to_string(max_files));
  }
  return Status::Ok();
}

Result<std::unique_ptr<FileSink>> FileSink::Create(FileSinkOptions options) {
  if (Status s = options.Validate(); !s.ok()) {
    return s;
  }
  return std::unique_ptr<FileSink>(new FileSink(std::move(options)));
}

FileSink::~FileSink() { Close(); }

Status FileSink::Deliver(const filter::PopBatch& batch) {
  buffer_.clear();
  for (size_t i = 0; i < batch.size(); ++i) {
    AppendDeliveredLine(batch.event(i), &buffer_);
  }
  if (buffer_.empty()) {
    return Status::Ok();
  }
  if (fd_ < 0) {
    if (Status s = Open(); !s.ok()) {
      return s;
    }
  }
  if (size_ > 0 && size_ + buffer_.size() > options_.max_file_bytes) {
    if (Status s = Rotate(); !s.ok()) {
      return s;
    }
  }

  // One write in the normal case. A short write is continued, because the
  // next write is what reports the reason (ENOSPC, EFBIG); a failure anywhere
  // undoes the batch's bytes, so that the retry does not follow a torn line.
  size_t written = 0;
  while (written < buffer_.size()) {
    const ssize_t n = ::write(fd_, buffer_.data() + written, buffer_.size() - written);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      Undo();
      return ErrnoStatus("cannot write", options_.path, err);
    }
    written += static_cast<size_t>(n);
  }
  if (options_.fsync_each_batch && ::fdatasync(fd_) != 0) {
    const int err = errno;
    Undo();
    return ErrnoStatus("cannot fdatasync", options_.path, err);
  }
  size_ += written;
  return Status::Ok();
}

Status FileSink::Open() {
  const std::filesystem::path parent = std::filesystem::path(options_.path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      return Status::IoError("file sink: cannot create directory " + parent.string() + ": " +
                             ec.message());
    }
  }
  // O_RDWR rather than O_WRONLY: CutTornTail reads the tail.
  const int fd = ::open(options_.path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    return ErrnoStatus("cannot open", options_.path, errno);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return ErrnoStatus("cannot stat", options_.path, err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::IoError("file sink: not a regular file: " + options_.path);
  }
  fd_ = fd;
  size_ = static_cast<uint64_t>(st.st_size);
  if (Status s = CutTornTail(); !s.ok()) {
    Close();
    return s;
  }
  if (options_.fsync_each_batch) {
    // The file's directory entry (new, or renamed by a rotation) must be on
    // disk too before a batch in it counts as delivered.
    const std::string dir = parent.empty() ? std::string(".") : parent.string();
    const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0 || ::fsync(dir_fd) != 0) {
      const int err = errno;
      if (dir_fd >= 0) {
        ::close(dir_fd);
      }
      Close();
      return ErrnoStatus("cannot fsync directory", dir, err);
    }
    ::close(dir_fd);
  }
  return Status::Ok();
}

Status FileSink::CutTornTail() {
  // Searches back from the end for the last '\n', a chunk at a time.
  char chunk[64 * 1024];
  uint64_t end = size_;
  while (end > 0) {
    const uint64_t start = end > sizeof(chunk) ? end - sizeof(chunk) : 0;
    const size_t want = static_cast<size_t>(end - start);
    const ssize_t n = ::pread(fd_, chunk, want, static_cast<off_t>(start));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n != static_cast<ssize_t>(want)) {
      return ErrnoStatus("cannot read the tail of", options_.path, n < 0 ? errno : EIO);
    }
    size_t i = want;
    while (i > 0 && chunk[i - 1] != '\n') {
      --i;
    }
    if (i > 0) {
      end = start + i;
      break;
    }
    end = start;
  }
  if (end != size_) {
    if (::ftruncate(fd_, static_cast<off_t>(end)) != 0) {
      return ErrnoStatus("cannot cut the torn last line of", options_.path, errno);
    }
    size_ = end;
  }
  return Status::Ok();
}

Status FileSink::Rotate() {
  Close();
  const std::string& path = options_.path;
  const std::string oldest = RotatedPath(path, options_.max_files);
  if (::unlink(oldest.c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus("cannot delete", oldest, errno);
  }
  for (int i = options_.max_files - 1; i >= 1; --i) {
    if (Status s = RenameIfExists(RotatedPath(path, i), RotatedPath(path, i + 1)); !s.ok()) {
      return s;
    }
  }
  if (Status s = RenameIfExists(path, RotatedPath(path, 1)); !s.ok()) {
    return s;
  }
  return Open();
}

void FileSink::Undo() {
  if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
    // The file may now end in a torn line; Open cuts it when reopening.
    Close();
  }
}

void FileSink::Close() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  size_ = 0;
}

}  // namespace gridgate::sink
