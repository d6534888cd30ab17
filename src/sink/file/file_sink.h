#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "common/result.h"
#include "common/status.h"
#include "filter/pop_batch.h"
#include "sink/sink.h"

namespace gridgate::sink {

struct FileSinkOptions {
  // The live file. Its parent directory is created when missing.
  std::string path = "./var/events.ndjson";

  // fdatasync after every batch, so that OK means on disk (and the
  // directory fsynced after each rotation). Otherwise OK means written to the
  // page cache, which survives a crash of the gateway but not of the machine.
  bool fsync_each_batch = false;

  // The live file is rotated before a batch that would take it past this
  // size. A batch is never split across files, so a file exceeds the limit
  // only when one batch alone does (it then fills a fresh file of its own).
  uint64_t max_file_bytes = uint64_t{256} << 20;

  // Rotated files kept next to the live one: path.1 (the newest) up to
  // path.<max_files>; the oldest beyond that is deleted. At least 1.
  int max_files = 8;

  // InvalidArgument naming the first bad field.
  Status Validate() const;
};

// Appends delivered lines (sink/common/delivered_format.h) to a file, one
// write(2) per batch, with size-based rotation:
//
//   events.ndjson  --rotate-->  events.ndjson.1, .1 -> .2, ... (oldest deleted)
//
// Failure leaves the file as it was: when a write fails or stays short (full
// disk, EFBIG, EIO), or fdatasync fails, the file is truncated back to its size
// before the batch and the error returned, so the dispatcher's retry appends
// the batch once, whole. If even that truncation fails, the file is closed
// and, when reopened, cut back after its last complete line; a file that a
// crash left with a torn last line is cut the same way when the sink opens it.
//
// Opens nothing in Create: the file is opened (its directory created) by the
// first Deliver, and reopened after an error, so a path that is unusable at
// start behaves as a sink that fails and is retried.
//
// Owned by the dispatcher thread (Deliver is not thread-safe). Only one
// FileSink, in one process, may write a given path.
class FileSink final : public Sink {
 public:
  // InvalidArgument, naming the field, for invalid options.
  static Result<std::unique_ptr<FileSink>> Create(FileSinkOptions options);

  ~FileSink() override;
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;

  // OK once every line of `batch` is in the file (and on disk with
  // fsync_each_batch). IoError, with the file as before the call, otherwise.
  Status Deliver(const filter::PopBatch& batch) override;

  std::string_view name() const override { return "file"; }

  // The live file's size as this sink knows it; 0 while no file is open.
  uint64_t file_bytes() const { return size_; }

 private:
  explicit FileSink(FileSinkOptions options) : options_(std::move(options)) {}

  Status Open();
  Status Rotate();
  // Cuts a torn last line (the bytes after the last '\n') off the open file.
  Status CutTornTail();
  // Truncates back to size_ after a failed batch; closes the file if it can't.
  void Undo();
  void Close();

  const FileSinkOptions options_;
  int fd_ = -1;
  uint64_t size_ = 0;   // Invariant: the open file's size, ending in '\n' or 0.
  std::string buffer_;  // the batch's bytes, reused across batches
};

}  // namespace gridgate::sink
