#include "tools/spill_tool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

#include "common/checksum.h"
#include "common/coding.h"
#include "common/errno_text.h"
#include "common/json_escape.h"
#include "common/status.h"
#include "event/record_codec.h"
#include "spill/segment_format.h"
#include "spill/segment_reader.h"

namespace gridgate::tools {
namespace {

using spill::SegmentHeader;
using spill::SegmentState;

bool IsDirectory(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// One segment file of a level folder.
struct SegmentFile {
  uint32_t slot = 0;
  std::string rel_path;  // "low/seg-000001.spill", for the output
  std::string path;      // as opened
};

// What a level folder holds, by name only.
struct LevelListing {
  bool exists = false;
  std::string error;                   // set when the folder cannot be listed
  std::vector<SegmentFile> files;      // by slot, as recovery visits them
  std::vector<std::string> set_aside;  // "<segment>.bad" left by an earlier recovery
};

LevelListing ListLevel(const std::string& dir, Priority level) {
  LevelListing listing;
  const std::string name(PriorityName(level));
  const std::string level_dir = dir + "/" + name;
  if (!IsDirectory(level_dir)) {
    return listing;
  }
  listing.exists = true;
  DIR* d = opendir(level_dir.c_str());
  if (d == nullptr) {
    listing.error = "cannot list " + level_dir + ": " + ErrnoText(errno);
    return listing;
  }
  while (const dirent* entry = readdir(d)) {
    const std::string_view file = entry->d_name;
    const int64_t slot = spill::ParseSegmentFileName(file);
    if (slot >= 0) {
      listing.files.push_back(SegmentFile{static_cast<uint32_t>(slot), name + "/" + entry->d_name,
                                          level_dir + "/" + entry->d_name});
    } else if (file.size() > 4 && file.substr(file.size() - 4) == ".bad" &&
               spill::ParseSegmentFileName(file.substr(0, file.size() - 4)) >= 0) {
      listing.set_aside.push_back(name + "/" + entry->d_name);
    }
  }
  closedir(d);
  std::sort(listing.files.begin(), listing.files.end(),
            [](const SegmentFile& a, const SegmentFile& b) { return a.slot < b.slot; });
  std::sort(listing.set_aside.begin(), listing.set_aside.end());
  return listing;
}

// A segment file opened read-only: its header checked by recovery's rules
// (SpillStore::RecoverLevel and Segment::Open) and, for a live segment, the
// whole file mapped PROT_READ. Not copyable; unmaps and closes when it goes.
class SegmentFileView {
 public:
  SegmentFileView() = default;
  ~SegmentFileView() { Close(); }
  SegmentFileView(const SegmentFileView&) = delete;
  SegmentFileView& operator=(const SegmentFileView&) = delete;

  // Corruption when the header is one recovery would set aside (it does not
  // decode, names another level or slot, or claims more bytes than the file
  // has); IoError when the file cannot be opened, read or mapped.
  Status Open(const SegmentFile& file, Priority level) {
    Close();
    fd_ = open(file.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      return Status::IoError("cannot open: " + ErrnoText(errno));
    }
    char buf[spill::kHeaderUsedBytes];
    ssize_t n;
    do {
      n = pread(fd_, buf, sizeof(buf), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      return Status::IoError("cannot read the header: " + ErrnoText(errno));
    }
    Result<SegmentHeader> header =
        spill::DecodeSegmentHeader(std::string_view(buf, static_cast<size_t>(n)));
    if (!header.ok()) {
      return header.status();
    }
    struct stat st;
    if (fstat(fd_, &st) != 0) {
      return Status::IoError("cannot stat: " + ErrnoText(errno));
    }
    if (static_cast<uint64_t>(st.st_size) < header->segment_bytes) {
      return Status::Corruption("file is " + std::to_string(st.st_size) +
                                " bytes, its header says " + std::to_string(header->segment_bytes));
    }
    if (header->level != level) {
      return Status::Corruption("header names level " + std::string(PriorityName(header->level)) +
                                ", the file is in " + std::string(PriorityName(level)) + "/");
    }
    if (header->slot != file.slot) {
      return Status::Corruption("header names slot " + std::to_string(header->slot) +
                                ", the file name slot " + std::to_string(file.slot));
    }
    header_ = *header;
    if (header_.state != SegmentState::kLive) {
      return Status::Ok();
    }
    // The whole file from offset 0, so that the mapping does not depend on
    // the page size; the size check above keeps every mapped byte in the file.
    void* p = mmap(nullptr, header_.segment_bytes, PROT_READ, MAP_SHARED, fd_, 0);
    if (p == MAP_FAILED) {
      return Status::IoError("cannot map: " + ErrnoText(errno));
    }
    base_ = static_cast<const char*>(p);
    madvise(p, header_.segment_bytes, MADV_SEQUENTIAL);
    return Status::Ok();
  }

  const SegmentHeader& header() const { return header_; }
  // The data region (after the header); empty unless a live segment is open.
  std::string_view data() const {
    return base_ == nullptr ? std::string_view()
                            : std::string_view(base_ + spill::kSegmentHeaderBytes,
                                               header_.segment_bytes - spill::kSegmentHeaderBytes);
  }

 private:
  void Close() {
    if (base_ != nullptr) {
      munmap(const_cast<char*>(base_), header_.segment_bytes);
      base_ = nullptr;
    }
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
  }

  int fd_ = -1;
  SegmentHeader header_;
  const char* base_ = nullptr;
};

// What one pass of recovery's reader finds in one segment file.
struct SegmentScan {
  SegmentFile file;
  Status status;  // not OK: a bad header (Corruption) or an unreadable file
  SegmentHeader header;
  uint64_t records = 0;
  uint64_t bytes = 0;
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  uint64_t end_offset = 0;  // where the valid data ends
  uint64_t corrupt_records = 0;
  uint64_t corrupt_bytes = 0;
  std::vector<uint64_t> damage_offsets;  // the first SegmentReader::kMaxDamageOffsets

  bool live() const { return status.ok() && header.state == SegmentState::kLive; }
};

SegmentScan ScanSegment(const SegmentFile& file, Priority level) {
  SegmentScan scan;
  scan.file = file;
  SegmentFileView view;
  scan.status = view.Open(file, level);
  scan.header = view.header();
  if (!scan.live()) {
    return scan;
  }
  const SegmentHeader& h = scan.header;
  spill::SegmentReader reader(view.data(), h.block_bytes, level, h.epoch, h.start_offset);
  std::string_view record;
  uint64_t offset = 0;
  while (reader.Next(&record, &offset)) {
    const uint64_t seq = record::RecordSeq(record.data()).value;
    if (scan.records == 0) {
      scan.first_seq = seq;
    }
    scan.last_seq = seq;
    ++scan.records;
    scan.bytes += record.size();
  }
  scan.end_offset = reader.position();
  scan.corrupt_records = reader.corrupt_records();
  scan.corrupt_bytes = reader.corrupt_bytes();
  scan.damage_offsets = reader.damage_offsets();
  return scan;
}

struct LevelScan {
  Priority level = Priority::kLow;
  LevelListing listing;
  std::vector<SegmentScan> segments;  // by slot
};

LevelScan ScanLevel(const std::string& dir, Priority level) {
  LevelScan scan;
  scan.level = level;
  scan.listing = ListLevel(dir, level);
  for (const SegmentFile& file : scan.listing.files) {
    scan.segments.push_back(ScanSegment(file, level));
  }
  return scan;
}

// The live segments that hold records, in the order recovery delivers them:
// segments hold disjoint runs of the level's sequence, and the shutdown flush
// writes older runs into newer files, so by content, not by slot or epoch.
std::vector<const SegmentScan*> DeliveryOrder(const LevelScan& level) {
  std::vector<const SegmentScan*> order;
  for (const SegmentScan& s : level.segments) {
    if (s.live() && s.records > 0) {
      order.push_back(&s);
    }
  }
  std::stable_sort(order.begin(), order.end(), [](const SegmentScan* a, const SegmentScan* b) {
    return a->first_seq < b->first_seq;
  });
  return order;
}

// kExitOk when `dir` is a spill directory; otherwise says why on `err`.
int CheckSpillDir(const std::string& dir, std::ostream& err) {
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) {
    err << "gridgate spill: " << dir << " does not exist (" << ErrnoText(errno) << ")\n";
    return kExitUsage;
  }
  if (!S_ISDIR(st.st_mode)) {
    err << "gridgate spill: " << dir << " is not a directory\n";
    return kExitUsage;
  }
  for (Priority p : kAllPriorities) {
    if (IsDirectory(dir + "/" + std::string(PriorityName(p)))) {
      return kExitOk;
    }
  }
  err << "gridgate spill: " << dir
      << " is not a spill directory (it has none of the folders critical/, high/, normal/, "
         "low/)\n";
  return kExitUsage;
}

// The seq.state lease file, as recovery reads it (SpillStore::ReadSeqLease).
std::string DescribeSeqState(const std::string& dir) {
  const std::string path = dir + "/seq.state";
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return errno == ENOENT ? "seq.state: absent (no sequence numbers were leased)"
                           : "seq.state: cannot open (" + ErrnoText(errno) + ")";
  }
  char buf[12];
  const ssize_t n = pread(fd, buf, sizeof(buf), 0);
  close(fd);
  if (n != sizeof(buf) || DecodeFixed32(buf + 8) != Checksum32(std::string_view(buf, 8))) {
    return "seq.state: unreadable; recovery resumes numbering after the records on disk "
           "(warning only, not counted as damage)";
  }
  return "seq.state: sequence numbers leased below " + std::to_string(DecodeFixed64(buf));
}

std::string SeqRange(uint64_t first, uint64_t last) {
  return "seq " + std::to_string(first) + ".." + std::to_string(last);
}

// Counts of one verify run, for the final line and the exit code.
struct Totals {
  uint64_t live_segments = 0;
  uint64_t records = 0;
  uint64_t bytes = 0;
  uint64_t damaged_stretches = 0;
  uint64_t damaged_bytes = 0;
  uint64_t bad_headers = 0;
  uint64_t unreadable = 0;
};

void PrintSegment(const SegmentScan& s, std::ostream& out, Totals* totals) {
  const std::string& rel = s.file.rel_path;
  if (!s.status.ok()) {
    const std::string name = rel.substr(rel.find('/') + 1);
    if (s.status.code() == Status::Code::kCorruption) {
      ++totals->bad_headers;
      out << "  BAD HEADER " << rel << ": " << s.status.message()
          << " (recovery would set it aside as " << name << ".bad)\n";
    } else {
      ++totals->unreadable;
      out << "  UNREADABLE " << rel << ": " << s.status.message()
          << " (recovery would set it aside as " << name << ".bad)\n";
    }
    return;
  }
  const SegmentHeader& h = s.header;
  const uint64_t data_bytes = h.segment_bytes - spill::kSegmentHeaderBytes;
  if (h.state == SegmentState::kFree) {
    out << "  " << rel << ": free, epoch " << h.epoch << "\n";
    return;
  }
  out << "  " << rel << ": live, epoch " << h.epoch << ", from offset " << h.start_offset << ", ";
  if (s.records == 0) {
    out << "no records (recovery frees it)";
  } else {
    out << s.records << " records, " << s.bytes << " bytes, " << SeqRange(s.first_seq, s.last_seq);
  }
  out << "; valid data ends at offset " << s.end_offset << " of " << data_bytes << "\n";
  for (uint64_t offset : s.damage_offsets) {
    out << "  CORRUPT " << rel << ": damaged record at offset " << offset << " (file offset "
        << offset + spill::kSegmentHeaderBytes << "), skipped to the next valid block\n";
  }
  if (s.corrupt_records > s.damage_offsets.size()) {
    out << "  CORRUPT " << rel << ": and " << s.corrupt_records - s.damage_offsets.size()
        << " more damaged stretches (only the first " << s.damage_offsets.size()
        << " are located)\n";
  }
  if (s.corrupt_records > 0) {
    out << "  " << rel << ": " << s.corrupt_records << " damaged stretches, " << s.corrupt_bytes
        << " bytes skipped\n";
  }
  ++totals->live_segments;
  totals->records += s.records;
  totals->bytes += s.bytes;
  totals->damaged_stretches += s.corrupt_records;
  totals->damaged_bytes += s.corrupt_bytes;
}

void PrintLevel(const LevelScan& level, std::ostream& out, Totals* totals) {
  const std::string_view name = PriorityName(level.level);
  if (!level.listing.exists) {
    out << name << ": no folder\n";
    return;
  }
  if (!level.listing.error.empty()) {
    ++totals->unreadable;
    out << name << ": UNREADABLE: " << level.listing.error << "\n";
    return;
  }
  uint64_t live = 0;
  uint64_t free = 0;
  uint64_t records = 0;
  uint64_t bytes = 0;
  uint64_t first = UINT64_MAX;
  uint64_t last = 0;
  for (const SegmentScan& s : level.segments) {
    if (!s.status.ok()) {
      continue;
    }
    if (s.header.state == SegmentState::kFree) {
      ++free;
      continue;
    }
    ++live;
    records += s.records;
    bytes += s.bytes;
    if (s.records > 0) {
      first = std::min(first, s.first_seq);
      last = std::max(last, s.last_seq);
    }
  }
  out << name << ": " << level.segments.size() << " segment files, " << live << " live, " << free
      << " free; " << records << " records, " << bytes << " bytes";
  if (records > 0) {
    out << ", " << SeqRange(first, last);
  }
  out << "\n";
  for (const SegmentScan& s : level.segments) {
    PrintSegment(s, out, totals);
  }
  for (const std::string& rel : level.listing.set_aside) {
    out << "  " << rel << ": set aside by an earlier recovery (not read)\n";
  }
}

void AppendField(std::string_view key, uint64_t value, std::string* line) {
  *line += ",\"";
  *line += key;
  *line += "\":";
  *line += std::to_string(value);
}

void AppendField(std::string_view key, int64_t value, std::string* line) {
  *line += ",\"";
  *line += key;
  *line += "\":";
  *line += std::to_string(value);
}

void AppendField(std::string_view key, std::string_view value, std::string* line) {
  *line += ",\"";
  *line += key;
  *line += "\":";
  AppendJsonString(value, line);
}

// Prints the records of one segment (already scanned) as NDJSON. False when
// the file changed since the scan (it no longer opens or reads the same).
bool DumpSegment(const SegmentScan& scan, Priority level, std::ostream& out, std::ostream& err) {
  SegmentFileView view;
  const Status opened = view.Open(scan.file, level);
  if (!opened.ok() || view.header().epoch != scan.header.epoch ||
      view.header().start_offset != scan.header.start_offset) {
    err << "gridgate spill dump: " << scan.file.rel_path << " changed while being read\n";
    return false;
  }
  const SegmentHeader& h = view.header();
  spill::SegmentReader reader(view.data(), h.block_bytes, level, h.epoch, h.start_offset);
  std::string_view record;
  uint64_t offset = 0;
  std::string line;
  while (reader.Next(&record, &offset)) {
    Event event;
    size_t record_size = 0;
    // Invariant: the reader returns only records that decode (ValidRecordAt).
    if (!record::DecodeRecord(record, &event, &record_size).ok()) {
      err << "gridgate spill dump: " << scan.file.rel_path << ": record at offset " << offset
          << " does not decode\n";
      return false;
    }
    line = "{\"level\":";
    AppendJsonString(PriorityName(level), &line);
    AppendField("seq", event.seq.value, &line);
    AppendField("segment", scan.file.rel_path, &line);
    AppendField("offset", offset, &line);
    AppendField("device_time_ms", event.device_time_ms, &line);
    AppendField("ingest_time_ns", event.ingest_time_ns, &line);
    AppendField("meter_id", event.meter_id, &line);
    AppendField("type", event.type, &line);
    AppendField("payload", event.payload, &line);
    line += "}\n";
    out << line;
  }
  if (reader.records() != scan.records) {
    err << "gridgate spill dump: " << scan.file.rel_path << " changed while being read\n";
    return false;
  }
  return true;
}

}  // namespace

int VerifySpillDir(const std::string& dir, std::ostream& out, std::ostream& err) {
  if (int rc = CheckSpillDir(dir, err); rc != kExitOk) {
    return rc;
  }
  out << "spill directory " << dir << "\n"
      << "(offsets are data offsets: bytes after the " << spill::kSegmentHeaderBytes
      << "-byte segment header)\n"
      << DescribeSeqState(dir) << "\n";
  Totals totals;
  for (Priority p : kAllPriorities) {
    PrintLevel(ScanLevel(dir, p), out, &totals);
  }
  const bool damaged =
      totals.damaged_stretches > 0 || totals.bad_headers > 0 || totals.unreadable > 0;
  out << (damaged ? "CORRUPTION FOUND: " : "OK: ") << totals.records << " records, " << totals.bytes
      << " bytes in " << totals.live_segments << " live segments; " << totals.damaged_stretches
      << " damaged stretches (" << totals.damaged_bytes << " bytes), " << totals.bad_headers
      << " bad headers, " << totals.unreadable << " unreadable\n";
  out.flush();
  return damaged ? kExitDamaged : kExitOk;
}

int DumpSpillDir(const std::string& dir, std::optional<Priority> level, std::ostream& out,
                 std::ostream& err) {
  if (int rc = CheckSpillDir(dir, err); rc != kExitOk) {
    return rc;
  }
  bool damaged = false;
  for (Priority p : kAllPriorities) {
    if (level.has_value() && *level != p) {
      continue;
    }
    const LevelScan scan = ScanLevel(dir, p);
    if (!scan.listing.error.empty()) {
      err << "gridgate spill dump: " << scan.listing.error << "\n";
      damaged = true;
      continue;
    }
    for (const SegmentScan& s : scan.segments) {
      if (!s.status.ok()) {
        err << "gridgate spill dump: " << s.file.rel_path << " skipped: " << s.status.message()
            << "\n";
        damaged = true;
      } else if (s.corrupt_records > 0) {
        err << "gridgate spill dump: " << s.file.rel_path << ": " << s.corrupt_records
            << " damaged stretches skipped (see gridgate spill verify)\n";
        damaged = true;
      }
    }
    for (const SegmentScan* s : DeliveryOrder(scan)) {
      if (!DumpSegment(*s, p, out, err)) {
        damaged = true;
      }
    }
  }
  out.flush();
  return damaged ? kExitDamaged : kExitOk;
}

}  // namespace gridgate::tools
