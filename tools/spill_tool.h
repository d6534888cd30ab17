#pragma once

#include <optional>
#include <ostream>
#include <string>

#include "event/priority.h"

// The offline operator tool for a spill directory (`gridgate spill ...`):
// checks it and prints what it holds, the way the gateway's recovery would
// read it, without changing anything.
//
// Both commands only read: every file is opened O_RDONLY and read with pread,
// the directory's LOCK is neither taken nor created, and nothing is renamed
// (recovery would set a segment with a bad header aside as `<name>.bad`; these
// commands only say so). They may run while a gateway holds the directory,
// but then the segment being written may show a torn tail that is only a
// write in progress.
//
// Offsets in the output are data offsets, as in the gateway's damage reports:
// bytes after the segment's spill::kSegmentHeaderBytes header.
//
// Thread-compatible: no shared state; each call works on its own.

namespace gridgate::tools {

// Exit codes of the spill commands.
inline constexpr int kExitOk = 0;
// A damaged record, a bad segment header, or a file or folder that cannot be
// read: recovery would skip or set aside something.
inline constexpr int kExitDamaged = 1;
// Bad usage, or the directory does not exist or is not a spill directory
// (none of the level folders critical/, high/, normal/, low/ is there).
inline constexpr int kExitUsage = 2;

// `gridgate spill verify DIR`: reads every segment file of every level folder
// of `dir`, checks every header and, in live segments, every record from the
// header's start_offset on (spill::SegmentReader, recovery's rules), and
// prints a summary to `out`: per level the live and free segment counts,
// records, bytes and first/last sequence number; per segment where its valid
// data ends (a torn tail is information, not damage); every damaged stretch
// and every bad header. Errors that stop it early go to `err`.
//
// Returns kExitOk when nothing is damaged, kExitDamaged when something is,
// kExitUsage when `dir` is not a spill directory.
int VerifySpillDir(const std::string& dir, std::ostream& out, std::ostream& err);

// `gridgate spill dump DIR [--level L]`: prints to `out` every record that
// recovery would deliver, one JSON object per line (NDJSON), highest level
// first and, within a level, in recovery's order (segments by the sequence
// number of their first record, records in file order):
//
//   {"level":"low","seq":123,"segment":"low/seg-000001.spill","offset":4096,
//    "device_time_ms":1780000000000,"ingest_time_ns":1780000000000000000,
//    "meter_id":"...","type":"...","payload":"..."}
//
// Strings are escaped by common/json_escape.h (bytes that are not valid UTF-8
// come out as \u00XX). With `level`, only that level. Damaged records are
// skipped, as recovery skips them, and reported on `err`.
//
// Returns kExitOk when every record was read, kExitDamaged when damage was
// skipped (the dump is then what recovery would deliver, not everything that
// was written), kExitUsage when `dir` is not a spill directory.
int DumpSpillDir(const std::string& dir, std::optional<Priority> level, std::ostream& out,
                 std::ostream& err);

}  // namespace gridgate::tools
