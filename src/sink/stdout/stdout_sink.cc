#include "sink/stdout/stdout_sink.h"

#include <unistd.h>

#include <cerrno>

#include "common/errno_text.h"
#include "sink/common/delivered_format.h"

namespace gridgate::sink {

Status StdoutSinkOptions::Validate() const {
  if (fd < 0) {
    return Status::InvalidArgument("stdout sink: fd must not be negative, not " +
                                   std::to_string(fd));
  }
  return Status::Ok();
}

Result<std::unique_ptr<StdoutSink>> StdoutSink::Create(StdoutSinkOptions options) {
  if (Status s = options.Validate(); !s.ok()) {
    return s;
  }
  return std::unique_ptr<StdoutSink>(new StdoutSink(options));
}

Status StdoutSink::Deliver(const filter::PopBatch& batch) {
  buffer_.clear();
  if (torn_) {
    buffer_.push_back('\n');
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    AppendDeliveredLine(batch.event(i), &buffer_);
  }
  size_t written = 0;
  while (written < buffer_.size()) {
    const ssize_t n = ::write(options_.fd, buffer_.data() + written, buffer_.size() - written);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      // The stream now ends in a torn line unless what went out ended with a
      // '\n' (whole lines, or just the '\n' that ends an earlier torn line).
      if (written > 0) {
        torn_ = buffer_[written - 1] != '\n';
      }
      return Status::IoError("stdout sink: cannot write to fd " + std::to_string(options_.fd) +
                             ": " + ErrnoText(err));
    }
    written += static_cast<size_t>(n);
  }
  torn_ = false;
  return Status::Ok();
}

}  // namespace gridgate::sink
