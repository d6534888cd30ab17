// SpillStore: opening a spill directory, recovering what it holds, the
// sequence-number lease, and the shutdown flush.

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <cstring>

#include "common/checksum.h"
#include "common/coding.h"
#include "common/errno_text.h"
#include "event/record_codec.h"
#include "spill/segment_reader.h"
#include "spill/spill_store.h"

namespace gridgate::spill {
namespace {

constexpr uint64_t kSeqLeaseStep = uint64_t{1} << 20;
constexpr char kSeqStateFile[] = "seq.state";

// Creates `path` and any missing parents (the default ./var/spill on a fresh
// checkout has neither).
Status MakeDir(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) {
    return Status::IoError("cannot create directory " + path + ": " + ec.message());
  }
  return Status::Ok();
}

Status SyncDir(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return Status::IoError("cannot open directory " + path + ": " + ErrnoText(errno));
  }
  const int rc = fsync(fd);
  close(fd);
  if (rc != 0) {
    return Status::IoError("cannot fsync directory " + path + ": " + ErrnoText(errno));
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<SpillStore>> SpillStore::Open(const SpillOptions& options,
                                                     size_t max_record_bytes, Clock* clock) {
  if (Status s = options.Validate(max_record_bytes); !s.ok()) {
    return s;
  }
  std::unique_ptr<SpillStore> store(new SpillStore(options, max_record_bytes, clock));
  if (Status s = store->Recover(); !s.ok()) {
    return s;
  }
  return store;
}

Status SpillStore::LockDirectory() {
  const std::string path = options_.dir + "/LOCK";
  lock_fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) {
    return Status::IoError("cannot open " + path + ": " + ErrnoText(errno));
  }
  if (flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return Status::Unavailable("spill directory " + options_.dir +
                               " is in use by another gridgate process");
  }
  return Status::Ok();
}

Status SpillStore::ReadSeqLease() {
  const std::string path = options_.dir + "/" + kSeqStateFile;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status::Ok();  // a new directory
  }
  char buf[12];
  const ssize_t n = pread(fd, buf, sizeof(buf), 0);
  close(fd);
  if (n != sizeof(buf) || DecodeFixed32(buf + 8) != Checksum32(std::string_view(buf, 8))) {
    NoteDamage(path, 0, "sequence lease unreadable; numbering resumes after the records on disk");
    return Status::Ok();
  }
  seq_lease_ = DecodeFixed64(buf);
  return Status::Ok();
}

Status SpillStore::LeaseSeqs(uint64_t end) {
  if (end <= seq_lease_) {
    return Status::Ok();
  }
  const uint64_t lease = end + kSeqLeaseStep;
  const std::string path = options_.dir + "/" + kSeqStateFile;
  const std::string tmp = path + ".tmp";
  char buf[12];
  EncodeFixed64(buf, lease);
  EncodeFixed32(buf + 8, Checksum32(std::string_view(buf, 8)));
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::IoError("cannot write " + tmp + ": " + ErrnoText(errno));
  }
  const bool written = write(fd, buf, sizeof(buf)) == sizeof(buf) && fdatasync(fd) == 0;
  close(fd);
  if (!written || rename(tmp.c_str(), path.c_str()) != 0) {
    return Status::IoError("cannot replace " + path + ": " + ErrnoText(errno));
  }
  if (Status s = SyncDir(options_.dir); !s.ok()) {
    return s;
  }
  seq_lease_ = lease;
  return Status::Ok();
}

Status SpillStore::Recover() {
  const auto start = std::chrono::steady_clock::now();
  if (Status s = MakeDir(options_.dir); !s.ok()) {
    return s;
  }
  if (Status s = LockDirectory(); !s.ok()) {
    return s;
  }
  if (Status s = ReadSeqLease(); !s.ok()) {
    return s;
  }
  for (Priority p : kAllPriorities) {
    if (Status s = RecoverLevel(p); !s.ok()) {
      return s;
    }
  }
  if (options_.disk_budget_bytes != 0) {
    disk_budget_bytes_ = options_.disk_budget_bytes;
  } else {
    struct statvfs vfs;
    if (statvfs(options_.dir.c_str(), &vfs) != 0) {
      return Status::IoError("cannot stat filesystem of " + options_.dir + ": " + ErrnoText(errno));
    }
    // Half of what is free, plus what the segments already hold.
    const uint64_t free_bytes = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
    disk_budget_bytes_ = free_bytes / 2 + SegmentFiles() * options_.segment_bytes;
  }
  stats_.recovery_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count();
  return Status::Ok();
}

Status SpillStore::RecoverLevel(Priority level) {
  Level& l = levels_[LevelIndex(level)];
  if (Status s = MakeDir(l.dir); !s.ok()) {
    return s;
  }
  DIR* dir = opendir(l.dir.c_str());
  if (dir == nullptr) {
    return Status::IoError("cannot list " + l.dir + ": " + ErrnoText(errno));
  }
  std::vector<std::pair<uint32_t, std::string>> files;
  while (const dirent* entry = readdir(dir)) {
    const int64_t slot = ParseSegmentFileName(entry->d_name);
    if (slot >= 0) {
      files.emplace_back(static_cast<uint32_t>(slot), entry->d_name);
    }
  }
  closedir(dir);
  std::sort(files.begin(), files.end());

  for (const auto& [slot, name] : files) {
    const std::string path = l.dir + "/" + name;
    l.next_slot = std::max(l.next_slot, slot + 1);
    auto opened = Segment::Open(path);
    if (!opened.ok() || opened.value()->header().level != level ||
        opened.value()->header().slot != slot) {
      // Keep the evidence for the operator, out of the ring's way.
      ++stats_.bad_segment_headers;
      NoteDamage(path, 0,
                 (opened.ok() ? std::string("segment header names another level or slot")
                              : opened.status().message()) +
                     "; moved aside to " + name + ".bad");
      std::rename(path.c_str(), (path + ".bad").c_str());
      continue;
    }
    std::unique_ptr<Segment> segment = std::move(opened).value();
    const SegmentHeader& h = segment->header();
    // Invariant: a file's header holds the newest epoch it was given, so the
    // largest over all files is above every epoch any record carries.
    next_epoch_ = std::max(next_epoch_, h.epoch + 1);
    if (h.state == SegmentState::kFree) {
      ReleaseFile(level, std::move(segment));
      continue;
    }
    if (Status s = segment->Map(); !s.ok()) {
      NoteDamage(path, 0, "cannot map: " + s.message());
      continue;
    }
    LiveSegment live;
    SegmentReader reader(segment->data_view(), h.block_bytes, level, h.epoch, h.start_offset);
    std::string_view record;
    uint64_t offset = 0;
    while (reader.Next(&record, &offset)) {
      if (live.records == 0) {
        live.first_seq = record::RecordSeq(record.data()).value;
      }
      next_seq_ = std::max(next_seq_, record::RecordSeq(record.data()).value + 1);
      ++live.records;
      live.bytes += record.size();
    }
    stats_.corrupt_records += reader.corrupt_records();
    stats_.corrupt_bytes += reader.corrupt_bytes();
    for (uint64_t damaged : reader.damage_offsets()) {
      NoteDamage(path, damaged, "damaged record skipped during recovery");
    }
    live.known_damage = reader.damage_offsets();
    live.damage_reported = reader.corrupt_records() > 0;
    segment->set_write_pos(reader.position());
    segment->Unmap();  // recovery streams: one segment mapped at a time
    if (live.records == 0) {
      ReleaseFile(level, std::move(segment));
      continue;
    }
    live.read_pos = h.start_offset;
    live.sealed = true;
    live.segment = std::move(segment);
    l.undrained_events += live.records;
    l.undrained_bytes += live.bytes;
    l.counters.recovered += live.records;
    l.live.push_back(std::move(live));
  }
  // Segments hold disjoint runs of the level's sequence; the shutdown flush
  // writes older runs into newer files, so order by content, not by epoch.
  std::sort(l.live.begin(), l.live.end(),
            [](const LiveSegment& a, const LiveSegment& b) { return a.first_seq < b.first_seq; });
  next_seq_ = std::max(next_seq_, seq_lease_);
  return Status::Ok();
}

Status SpillStore::FlushLevel(Priority level, const std::vector<std::string_view>& records) {
  Level& l = levels_[LevelIndex(level)];
  std::vector<LiveSegment> fresh;
  for (std::string_view record : records) {
    char* dst = fresh.empty() ? nullptr : fresh.back().segment->Append(record.size());
    if (dst == nullptr) {
      auto segment = AcquireSegment(level);
      if (!segment.ok()) {
        return Status(segment.status().code() == Status::Code::kResourceExhausted
                          ? Status::ResourceExhausted("flush of " + std::to_string(records.size()) +
                                                      " " + std::string(PriorityName(level)) +
                                                      " events: " + segment.status().message())
                          : segment.status());
      }
      fresh.emplace_back();
      fresh.back().segment = std::move(segment).value();
      dst = fresh.back().segment->Append(record.size());
    }
    std::memcpy(dst, record.data(), record.size());
    SealRecord(dst, record.size(), fresh.back().segment->header().epoch);
    ++fresh.back().records;
    fresh.back().bytes += record.size();
    ++l.undrained_events;
    l.undrained_bytes += record.size();
  }
  for (LiveSegment& s : fresh) {
    if (Status st = Segment::SyncFd(s.segment->fd()); !st.ok()) {
      return st;
    }
    s.segment->Unmap();
  }
  // The memory copies are safe on disk: what they replace is consumed. The
  // segments before the read position were read to their end (their unacked
  // records were among `records`); the one at it resumes where draining was.
  for (size_t i = 0; i < l.live.size() && i <= l.read_idx; ++i) {
    LiveSegment& s = l.live[i];
    SegmentHeader h = s.segment->header();
    if (i < l.read_idx) {
      h.state = SegmentState::kFree;
    } else {
      h.start_offset = s.read_pos;
    }
    if (Status st = s.segment->WriteHeader(h); !st.ok()) {
      return st;
    }
    if (Status st = Segment::SyncFd(s.segment->fd()); !st.ok()) {
      return st;
    }
  }
  for (size_t i = 0; i < fresh.size(); ++i) {
    l.live.insert(l.live.begin() + static_cast<std::ptrdiff_t>(i), std::move(fresh[i]));
  }
  return Status::Ok();
}

}  // namespace gridgate::spill
