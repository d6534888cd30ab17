#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/status.h"
#include "filter/pop_batch.h"
#include "sink/sink.h"

namespace gridgate::sink {

struct StdoutSinkOptions {
  // Where the lines go; not owned (never closed by the sink), must stay open
  // while the sink lives. Standard output by default; tests pass a pipe.
  int fd = 1;

  // InvalidArgument naming the first bad field.
  Status Validate() const;
};

// Writes delivered lines (sink/common/delivered_format.h) to a file
// descriptor, one write(2) per batch, continued after a partial write or
// EINTR. EPIPE, EIO, ENOSPC and the like are an IoError.
//
// A stream cannot be taken back: when a write fails after part of the batch
// went out, the reader has a torn line. The sink then starts its next batch
// with a '\n', so that the torn fragment stays a (bad) line of its own and the
// retried lines are whole; a reader skips a line that is not JSON.
//
// The process must ignore SIGPIPE (the daemon does), or a reader that went
// away kills it instead of giving EPIPE.
//
// Owned by the dispatcher thread (Deliver is not thread-safe).
class StdoutSink final : public Sink {
 public:
  // InvalidArgument, naming the field, for invalid options.
  static Result<std::unique_ptr<StdoutSink>> Create(StdoutSinkOptions options);

  // OK once every line of `batch` was written to the fd; IoError otherwise.
  Status Deliver(const filter::PopBatch& batch) override;

  std::string_view name() const override { return "stdout"; }

 private:
  explicit StdoutSink(StdoutSinkOptions options) : options_(options) {}

  const StdoutSinkOptions options_;
  bool torn_ = false;   // a failed write left a partial line on the stream
  std::string buffer_;  // the batch's bytes, reused across batches
};

}  // namespace gridgate::sink
