// Throughput of the BackpressureFilter's disk tier, measured against the raw
// sequential write bandwidth of the disk it spills to, in the same run.
//
// 1. dd: `dd if=/dev/zero of=DIR/ddtest bs=1M count=512 conv=fdatasync`, the
//    disk's bandwidth for large sequential writes that end on stable storage.
// 2. Spill: a filter with an 8 MiB memory budget and a disk tier with the
//    default block size (32 KiB) and segment size (the 4 KiB header plus
//    64 MiB of blocks; see BenchSegmentBytes) takes --events low
//    priority events (200-byte payload, 17-byte meter id, 16-byte type: 281
//    record bytes) in batches of 256 from one thread while nothing pops, so
//    all but the first ~6 MiB go to disk. A DrainTask runs beside it, as in
//    the gateway: it does the "interval" fsyncs. The time runs from the first
//    push to the end of a last SyncSpill, so that, as with dd, the data is on
//    stable storage when the clock stops. MB/s counts the record bytes
//    written (FilterStats: levels[].spilled x record::RecordSize).
// 3. Drain: one thread pops and acks everything, with DrainOnce(1 MiB)
//    moving the backlog from disk into memory. Before it starts, the segment
//    files are evicted from the page cache (posix_fadvise DONTNEED; the two
//    segments still mapped, the one being read and the tail, stay), so the
//    drain reads the disk; --warm_drain skips that. MB/s counts the record
//    bytes moved from disk to memory; ev/s counts every event delivered.
//
// Variants: overflow mode with fsync policy "interval" (the default
// configuration), overflow with "batch", and write-through with "interval"
// and with "batch". Each runs --runs times, each time in a fresh spill
// directory and right after a dd run of its own, since the bandwidth of a
// shared disk drifts; the summary shows the medians, and the spill bandwidth
// as a share of dd's (target: >= 70%).
//
// The spill directories live in a fresh temporary directory under
// $GRIDGATE_BENCH_DIR (default /tmp), or under --dir; it is removed at the
// end. With less than 4 GiB free there, the benchmark says so and exits 0.
//
//   cmake --preset release && cmake --build --preset release --target spill_bench
//   ./build/bin/spill_bench [--events=N] [--runs=N] [--variants=overflow/interval,...]
//                           [--dd_mib=N] [--warm_drain] [--spill_only]
//                           [--fsync_interval_ms=N] [--dir=PATH]
//
// --spill_only skips the drain phase, for a profile of the spill alone (the
// release build keeps no frame pointers, so perf needs DWARF call graphs):
//   perf record --call-graph dwarf ./build/bin/spill_bench --runs=1 \
//       --variants=overflow/interval --spill_only
// --fsync_interval_ms sets SpillOptions::fsync_interval_ms (default: its default).

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "common/result.h"
#include "common/status.h"
#include "drain/drain_task.h"
#include "event/event.h"
#include "event/priority.h"
#include "event/record_codec.h"
#include "filter/backpressure_filter.h"
#include "filter/filter_options.h"
#include "filter/filter_stats.h"
#include "filter/pop_batch.h"
#include "filter/push_outcome.h"
#include "spill/segment_format.h"
#include "spill/spill_options.h"
#include "event_pool.h"

namespace gridgate::filter {
namespace {

using bench::EventPool;

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

constexpr size_t kPushBatchEvents = 256;
// Distinct pre-built events, walked round and round.
constexpr size_t kPoolEvents = 32 * kPushBatchEvents;
constexpr size_t kMemoryBudgetBytes = size_t{8} << 20;
constexpr uint64_t kDiskBudgetBytes = uint64_t{2} << 30;
constexpr uint64_t kMinFreeBytes = uint64_t{4} << 30;
constexpr size_t kDrainStepBytes = size_t{1} << 20;
constexpr double kTargetShareOfDd = 0.70;

static_assert(kPoolEvents % kPushBatchEvents == 0, "batches must tile the pool");

struct Variant {
  std::string_view name;
  spill::DurabilityMode mode;
  spill::FsyncPolicy fsync;
};

constexpr Variant kVariants[] = {
    {"overflow/interval", spill::DurabilityMode::kOverflow, spill::FsyncPolicy::kInterval},
    {"overflow/batch", spill::DurabilityMode::kOverflow, spill::FsyncPolicy::kEveryBatch},
    {"write-through/interval", spill::DurabilityMode::kWriteThrough, spill::FsyncPolicy::kInterval},
    {"write-through/batch", spill::DurabilityMode::kWriteThrough, spill::FsyncPolicy::kEveryBatch},
};

struct Config {
  uint64_t events = 2'000'000;
  int runs = 3;
  uint64_t dd_mib = 512;
  bool warm_drain = false;
  bool spill_only = false;  // no drain phase (for profiling the spill)
  uint32_t fsync_interval_ms = spill::SpillOptions{}.fsync_interval_ms;
  std::string parent_dir;  // where the temporary directory goes
  std::vector<Variant> variants;
};

double Seconds(SteadyClock::duration d) { return std::chrono::duration<double>(d).count(); }

double CpuSeconds(const rusage& r) {
  return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
         static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

rusage Usage() {
  rusage r{};
  getrusage(RUSAGE_SELF, &r);
  return r;
}

double Median(std::vector<double> v) {
  if (v.empty()) {
    return 0;
  }
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// ---------------------------------------------------------------------------
// The dd baseline.

// One `dd ... conv=fdatasync` of `mib` MiB into `dir`: MB/s (10^6 bytes per
// second), from the bytes and seconds dd reports, or nullopt when dd failed.
std::optional<double> RunDd(const std::string& dir, uint64_t mib) {
  const std::string path = dir + "/ddtest";
  const std::string command = "dd if=/dev/zero of='" + path +
                              "' bs=1M count=" + std::to_string(mib) + " conv=fdatasync 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    return std::nullopt;
  }
  std::string output;
  char buf[512];
  while (std::fgets(buf, sizeof(buf), pipe) != nullptr) {
    output += buf;
  }
  const int rc = pclose(pipe);
  std::remove(path.c_str());
  // "536870912 bytes (537 MB, 512 MiB) copied, 0.61 s, 880 MB/s"
  const size_t copied = output.rfind("copied, ");
  const size_t line = output.rfind('\n', copied == std::string::npos ? 0 : copied);
  if (rc != 0 || copied == std::string::npos) {
    std::fprintf(stderr, "dd failed (status %d): %s\n", rc, output.c_str());
    return std::nullopt;
  }
  const char* line_start = output.c_str() + (line == std::string::npos ? 0 : line + 1);
  const double bytes = std::strtod(line_start, nullptr);
  const double seconds = std::strtod(output.c_str() + copied + std::strlen("copied, "), nullptr);
  if (bytes <= 0 || seconds <= 0) {
    std::fprintf(stderr, "cannot parse dd's report: %s\n", output.c_str());
    return std::nullopt;
  }
  return bytes / seconds / 1e6;
}

// The same in-process, for a system without dd: write() of 1 MiB blocks, then
// fdatasync, timed together.
std::optional<double> WriteAndSync(const std::string& dir, uint64_t mib) {
  const std::string path = dir + "/ddtest";
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return std::nullopt;
  }
  const std::string block(size_t{1} << 20, '\0');
  bool ok = true;
  const SteadyClock::time_point start = SteadyClock::now();
  for (uint64_t i = 0; i < mib && ok; ++i) {
    ok = write(fd, block.data(), block.size()) == static_cast<ssize_t>(block.size());
  }
  ok = ok && fdatasync(fd) == 0;
  const double seconds = Seconds(SteadyClock::now() - start);
  close(fd);
  std::remove(path.c_str());
  if (!ok) {
    return std::nullopt;
  }
  return static_cast<double>(mib << 20) / seconds / 1e6;
}

std::optional<double> MeasureDiskBandwidth(const std::string& dir, uint64_t mib) {
  if (std::optional<double> mbps = RunDd(dir, mib); mbps.has_value()) {
    return mbps;
  }
  std::fprintf(stderr, "falling back to write() + fdatasync in-process\n");
  return WriteAndSync(dir, mib);
}

// ---------------------------------------------------------------------------
// One spill-and-drain run.

struct RunResult {
  bool ok = false;
  std::string error;
  // Spill phase.
  uint64_t spilled_events = 0;
  double spill_seconds = 0;      // first push to the end of the last sync
  double push_seconds = 0;       // first push to the last push's return
  double spill_cpu_seconds = 0;  // process CPU time (all threads) over the phase
  uint64_t spill_minor_faults = 0;
  uint64_t fsyncs = 0;
  double fsync_seconds_total = 0;
  double fsync_seconds_max = 0;
  // Drain phase.
  uint64_t delivered_events = 0;
  uint64_t drained_events = 0;  // moved from disk to memory in this phase
  double drain_seconds = 0;
  double drain_cpu_seconds = 0;
  uint64_t drain_major_faults = 0;
};

// The default segment size, as the header plus whole blocks (which Validate()
// requires): header + 64 MiB. The default was once 64 MiB flat, which does
// not validate; this gives the same size with either.
uint64_t BenchSegmentBytes() {
  const spill::SpillOptions defaults;
  return spill::kSegmentHeaderBytes +
         defaults.segment_bytes / defaults.block_bytes * defaults.block_bytes;
}

FilterOptions BenchOptions(const Config& config, const Variant& variant, const std::string& dir) {
  FilterOptions o;
  o.budget_bytes = kMemoryBudgetBytes;
  spill::SpillOptions s;
  s.dir = dir;
  s.segment_bytes = BenchSegmentBytes();
  s.disk_budget_bytes = kDiskBudgetBytes;
  s.fsync = variant.fsync;
  s.fsync_interval_ms = config.fsync_interval_ms;
  s.mode = variant.mode;
  o.spill = s;
  return o;
}

uint64_t SumSpilled(const FilterStats& s) {
  uint64_t n = 0;
  for (const LevelStats& l : s.levels) {
    n += l.spilled;
  }
  return n;
}

uint64_t SumDrained(const FilterStats& s) {
  uint64_t n = 0;
  for (const LevelStats& l : s.levels) {
    n += l.drained;
  }
  return n;
}

// Drops the clean pages of every file under `dir` from the page cache.
void EvictFromPageCache(const std::string& dir) {
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(dir, ec)) {
    if (!entry.is_regular_file(ec)) {
      continue;
    }
    const int fd = open(entry.path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      continue;
    }
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    close(fd);
  }
}

// Pushes `count` events in batches; an event that is refused fails the run
// (the disk budget holds them all).
Status PushAll(BackpressureFilter* filter, const EventPool& pool, uint64_t count) {
  std::vector<PushOutcome> outcomes(kPushBatchEvents);
  for (uint64_t pushed = 0, batch_index = 0; pushed < count; ++batch_index) {
    const std::span<const Event> batch =
        pool.Chunk(batch_index, kPushBatchEvents).first(std::min<uint64_t>(kPushBatchEvents, count - pushed));
    const std::span<PushOutcome> out = std::span<PushOutcome>(outcomes).first(batch.size());
    if (Status s = filter->Push(batch, out); !s.ok()) {
      return s;
    }
    for (const PushOutcome& o : out) {
      if (!IsAccepted(o.result)) {
        return Status::ResourceExhausted("push refused after " + std::to_string(pushed) +
                                         " events: " + std::string(RefuseReasonName(o.reason)));
      }
    }
    pushed += batch.size();
  }
  return Status::Ok();
}

// Pops and acks until `count` events were delivered, draining the disk as it
// goes. Fails when neither pops nor drains make progress for a while.
Status DeliverAll(BackpressureFilter* filter, uint64_t count) {
  PopBatch batch;
  const PopLimits limits;
  uint64_t delivered = 0;
  int idle = 0;
  while (delivered < count) {
    const size_t moved = filter->DrainOnce(kDrainStepBytes);
    if (Status s = filter->Pop(limits, std::chrono::nanoseconds::zero(), &batch); !s.ok()) {
      return s;
    }
    if (batch.empty()) {
      if (moved == 0 && ++idle > 1000) {
        return Status::Unavailable("the drain stalled after " + std::to_string(delivered) + " of " +
                                   std::to_string(count) + " events");
      }
      continue;
    }
    idle = 0;
    delivered += batch.size();
    if (Status s = filter->Ack(&batch); !s.ok()) {
      return s;
    }
  }
  return Status::Ok();
}

RunResult RunOnce(const Config& config, const Variant& variant, const EventPool& pool,
                  const std::string& dir) {
  RunResult r;
  const FilterOptions options = BenchOptions(config, variant, dir);
  Result<std::unique_ptr<BackpressureFilter>> created = BackpressureFilter::Create(options);
  if (!created.ok()) {
    r.error = created.status().ToString();
    return r;
  }
  std::unique_ptr<BackpressureFilter> filter = std::move(created).value();

  // Spill.
  drain::DrainTask drain_task(filter.get(), drain::DrainTaskOptions{}, options);
  drain_task.Start();
  const rusage spill_usage_before = Usage();
  const SteadyClock::time_point spill_start = SteadyClock::now();
  const Status pushed = PushAll(filter.get(), pool, config.events);
  const SteadyClock::time_point push_end = SteadyClock::now();
  drain_task.Stop();  // ends with a SyncSpill
  filter->SyncSpill();
  const SteadyClock::time_point spill_end = SteadyClock::now();
  const rusage spill_usage_after = Usage();
  if (!pushed.ok()) {
    r.error = pushed.ToString();
    return r;
  }
  const FilterStats after_spill = filter->Stats();
  r.spilled_events = SumSpilled(after_spill);
  r.push_seconds = Seconds(push_end - spill_start);
  r.spill_seconds = Seconds(spill_end - spill_start);
  r.spill_cpu_seconds = CpuSeconds(spill_usage_after) - CpuSeconds(spill_usage_before);
  r.spill_minor_faults =
      static_cast<uint64_t>(spill_usage_after.ru_minflt - spill_usage_before.ru_minflt);
  r.fsyncs = after_spill.spill.fsyncs;
  r.fsync_seconds_total = static_cast<double>(after_spill.spill.fsync_ns_total) / 1e9;
  r.fsync_seconds_max = static_cast<double>(after_spill.spill.fsync_ns_max) / 1e9;

  if (config.spill_only) {
    r.ok = true;
    return r;
  }

  // Drain.
  if (!config.warm_drain) {
    EvictFromPageCache(dir);
  }
  const uint64_t to_deliver = after_spill.Queued() + after_spill.OnDisk();
  const rusage drain_usage_before = Usage();
  const SteadyClock::time_point drain_start = SteadyClock::now();
  const Status delivered = DeliverAll(filter.get(), to_deliver);
  const SteadyClock::time_point drain_end = SteadyClock::now();
  const rusage drain_usage_after = Usage();
  if (!delivered.ok()) {
    r.error = delivered.ToString();
    return r;
  }
  const FilterStats after_drain = filter->Stats();
  if (!after_drain.LedgerBalanced() || after_drain.OnDisk() != 0 || after_drain.Queued() != 0 ||
      after_drain.Delivered() != config.events) {
    r.error = "the ledger does not balance after the drain";
    return r;
  }
  r.delivered_events = to_deliver;
  r.drained_events = SumDrained(after_drain) - SumDrained(after_spill);
  r.drain_seconds = Seconds(drain_end - drain_start);
  r.drain_cpu_seconds = CpuSeconds(drain_usage_after) - CpuSeconds(drain_usage_before);
  r.drain_major_faults =
      static_cast<uint64_t>(drain_usage_after.ru_majflt - drain_usage_before.ru_majflt);
  r.ok = true;
  return r;
}

// ---------------------------------------------------------------------------
// Reporting.

struct Figures {
  double dd_mb_per_s = 0;  // the dd run just before this one
  double spill_events_per_s = 0;
  double spill_mb_per_s = 0;
  double share_of_dd = 0;  // spill_mb_per_s / dd_mb_per_s
  double push_seconds = 0;
  double last_sync_seconds = 0;  // after the last push returned
  double spill_cpu_share = 0;    // CPU seconds per wall second of the spill phase
  double minor_faults_per_mb = 0;
  double fsyncs = 0;
  double fsync_ms_mean = 0;
  double fsync_ms_max = 0;
  double drain_events_per_s = 0;
  double drain_mb_per_s = 0;
  double drain_cpu_share = 0;
};

Figures FiguresOf(const RunResult& r, size_t record_bytes, double dd_mb_per_s) {
  Figures f;
  f.dd_mb_per_s = dd_mb_per_s;
  const double spilled_mb = static_cast<double>(r.spilled_events * record_bytes) / 1e6;
  const double drained_mb = static_cast<double>(r.drained_events * record_bytes) / 1e6;
  f.spill_events_per_s = static_cast<double>(r.spilled_events) / r.spill_seconds;
  f.spill_mb_per_s = spilled_mb / r.spill_seconds;
  f.share_of_dd = f.spill_mb_per_s / dd_mb_per_s;
  f.push_seconds = r.push_seconds;
  f.last_sync_seconds = r.spill_seconds - r.push_seconds;
  f.spill_cpu_share = r.spill_cpu_seconds / r.spill_seconds;
  f.minor_faults_per_mb = static_cast<double>(r.spill_minor_faults) / spilled_mb;
  f.fsyncs = static_cast<double>(r.fsyncs);
  f.fsync_ms_mean = r.fsyncs == 0 ? 0 : r.fsync_seconds_total * 1e3 / f.fsyncs;
  f.fsync_ms_max = r.fsync_seconds_max * 1e3;
  if (r.drain_seconds > 0) {  // not with --spill_only
    f.drain_events_per_s = static_cast<double>(r.delivered_events) / r.drain_seconds;
    f.drain_mb_per_s = drained_mb / r.drain_seconds;
    f.drain_cpu_share = r.drain_cpu_seconds / r.drain_seconds;
  }
  return f;
}

void PrintRun(int run, const RunResult& r, const Figures& f) {
  std::printf("  run %d: dd    %7.1f MB/s\n", run, f.dd_mb_per_s);
  std::printf(
      "         spill %9.0f ev/s %7.1f MB/s = %5.1f%% of dd (pushes %.2f s + last sync %.2f s; "
      "cpu %.2f; %.0f minor faults/MB; %.0f fsyncs, mean %.1f ms, max %.1f ms)\n",
      f.spill_events_per_s, f.spill_mb_per_s, 100 * f.share_of_dd, f.push_seconds,
      f.last_sync_seconds, f.spill_cpu_share, f.minor_faults_per_mb, f.fsyncs, f.fsync_ms_mean,
      f.fsync_ms_max);
  if (r.drain_seconds == 0) {
    std::fflush(stdout);
    return;
  }
  std::printf("         drain %9.0f ev/s %7.1f MB/s (%" PRIu64 " events delivered, %" PRIu64
              " from disk, %" PRIu64 " major faults; cpu %.2f)\n",
              f.drain_events_per_s, f.drain_mb_per_s, r.delivered_events, r.drained_events,
              r.drain_major_faults, f.drain_cpu_share);
  std::fflush(stdout);
}

template <typename Field>
double MedianOf(const std::vector<Figures>& runs, Field field) {
  std::vector<double> values;
  values.reserve(runs.size());
  for (const Figures& f : runs) {
    values.push_back(f.*field);
  }
  return Median(std::move(values));
}

// ---------------------------------------------------------------------------
// Set-up.

void PrintUsage() {
  std::printf(
      "usage: spill_bench [--events=N] [--runs=N] [--variants=NAME,...] [--dd_mib=N]\n"
      "                   [--warm_drain] [--spill_only] [--fsync_interval_ms=N] [--dir=PATH]\n"
      "variants:");
  for (const Variant& v : kVariants) {
    std::printf(" %.*s", static_cast<int>(v.name.size()), v.name.data());
  }
  std::printf("\nThe temporary directory goes under --dir, else $GRIDGATE_BENCH_DIR, else /tmp.\n");
}

bool ParseUint(std::string_view text, uint64_t* out) {
  if (text.empty()) {
    return false;
  }
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return false;
    }
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

// False (after a message) when the arguments are not valid.
bool ParseArgs(int argc, char** argv, Config* config) {
  const char* env_dir = std::getenv("GRIDGATE_BENCH_DIR");
  config->parent_dir = env_dir != nullptr && env_dir[0] != '\0' ? env_dir : "/tmp";
  std::string variants =
      "overflow/interval,overflow/batch,write-through/interval,"
      "write-through/batch";
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const size_t eq = arg.find('=');
    const std::string_view key = arg.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? "" : arg.substr(eq + 1);
    uint64_t n = 0;
    if (key == "--events" && ParseUint(value, &n) && n > 0) {
      config->events = n;
    } else if (key == "--runs" && ParseUint(value, &n) && n > 0 && n < 100) {
      config->runs = static_cast<int>(n);
    } else if (key == "--dd_mib" && ParseUint(value, &n) && n > 0) {
      config->dd_mib = n;
    } else if (key == "--variants" && !value.empty()) {
      variants = value;
    } else if (key == "--warm_drain" && eq == std::string_view::npos) {
      config->warm_drain = true;
    } else if (key == "--fsync_interval_ms" && ParseUint(value, &n) && n > 0 && n <= UINT32_MAX) {
      config->fsync_interval_ms = static_cast<uint32_t>(n);
    } else if (key == "--spill_only" && eq == std::string_view::npos) {
      config->spill_only = true;
    } else if (key == "--dir" && !value.empty()) {
      config->parent_dir = value;
    } else {
      std::fprintf(stderr, "spill_bench: bad argument %s\n", argv[i]);
      PrintUsage();
      return false;
    }
  }
  for (size_t start = 0; start <= variants.size();) {
    size_t end = variants.find(',', start);
    if (end == std::string::npos) {
      end = variants.size();
    }
    const std::string_view name = std::string_view(variants).substr(start, end - start);
    const Variant* found = nullptr;
    for (const Variant& v : kVariants) {
      if (v.name == name) {
        found = &v;
      }
    }
    if (found == nullptr) {
      std::fprintf(stderr, "spill_bench: unknown variant '%.*s'\n", static_cast<int>(name.size()),
                   name.data());
      PrintUsage();
      return false;
    }
    config->variants.push_back(*found);
    start = end + 1;
  }
  return true;
}

int Main(int argc, char** argv) {
  Config config;
  if (!ParseArgs(argc, argv, &config)) {
    return 2;
  }
  std::string pattern = config.parent_dir + "/spill_bench.XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    std::fprintf(stderr, "spill_bench: cannot create a directory under %s: %s\n",
                 config.parent_dir.c_str(), std::strerror(errno));
    return 1;
  }
  const std::string base_dir = pattern;
  struct RemoveOnExit {
    std::string dir;
    ~RemoveOnExit() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } remove_on_exit{base_dir};

  struct statvfs vfs {};
  if (statvfs(base_dir.c_str(), &vfs) != 0) {
    std::fprintf(stderr, "spill_bench: statvfs %s: %s\n", base_dir.c_str(), std::strerror(errno));
    return 1;
  }
  const uint64_t free_bytes = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  if (free_bytes < kMinFreeBytes) {
    std::printf("spill_bench: skipped: %.1f GiB free under %s, it needs 4 GiB\n",
                static_cast<double>(free_bytes) / (1 << 30), base_dir.c_str());
    return 0;
  }

  // Low-priority readings, all of one size.
  const EventPool pool(kPoolEvents, bench::AllLow);
  const size_t record_bytes = record::RecordSize(pool[0]);
  std::printf("spill_bench: directory %s (%.1f GiB free)\n", base_dir.c_str(),
              static_cast<double>(free_bytes) / (1 << 30));
  std::printf(
      "  %" PRIu64
      " low events of %zu record bytes (%.0f MB), pushed in batches of %zu by one "
      "thread; memory budget %zu MiB; segments %" PRIu64
      " bytes, blocks %u KiB; disk budget %" PRIu64 " GiB; fsync interval %u ms; drain %s\n\n",
      config.events, record_bytes, static_cast<double>(config.events * record_bytes) / 1e6,
      kPushBatchEvents, kMemoryBudgetBytes >> 20, BenchSegmentBytes(),
      spill::SpillOptions{}.block_bytes >> 10, kDiskBudgetBytes >> 30, config.fsync_interval_ms,
      config.warm_drain ? "from the page cache (--warm_drain)" : "cold (page cache evicted)");

  // Each run is paired with a dd run just before it, and compared with that:
  // the bandwidth of a shared (virtual) disk may change by a factor of two
  // within a minute.
  std::vector<double> dd_runs;
  struct Summary {
    Variant variant;
    std::vector<Figures> runs;
  };
  std::vector<Summary> summaries;
  bool failed = false;
  for (const Variant& variant : config.variants) {
    std::printf("%.*s\n", static_cast<int>(variant.name.size()), variant.name.data());
    Summary summary{variant, {}};
    for (int i = 0; i < config.runs; ++i) {
      const std::optional<double> dd_mb_per_s = MeasureDiskBandwidth(base_dir, config.dd_mib);
      if (!dd_mb_per_s.has_value()) {
        std::fprintf(stderr, "spill_bench: cannot measure the disk's write bandwidth\n");
        return 1;
      }
      dd_runs.push_back(*dd_mb_per_s);
      const std::string dir = base_dir + "/run";
      std::error_code ec;
      fs::remove_all(dir, ec);
      const RunResult r = RunOnce(config, variant, pool, dir);
      fs::remove_all(dir, ec);
      if (!r.ok) {
        std::printf("  run %d failed: %s\n", i + 1, r.error.c_str());
        failed = true;
        break;
      }
      summary.runs.push_back(FiguresOf(r, record_bytes, *dd_mb_per_s));
      PrintRun(i + 1, r, summary.runs.back());
    }
    summaries.push_back(std::move(summary));
  }

  std::printf(
      "\nMedians of %d runs per variant (each figure its own median); record bytes = %zu "
      "per event\n",
      config.runs, record_bytes);
  std::printf("dd %" PRIu64
              " MiB conv=fdatasync, all %zu runs: median %.1f MB/s, min %.1f, max %.1f\n",
              config.dd_mib, dd_runs.size(), Median(dd_runs),
              dd_runs.empty() ? 0 : *std::min_element(dd_runs.begin(), dd_runs.end()),
              dd_runs.empty() ? 0 : *std::max_element(dd_runs.begin(), dd_runs.end()));
  std::printf("%-23s %8s %11s %10s %8s %11s %10s %7s\n", "variant", "dd MB/s", "spill ev/s",
              "spill MB/s", "% of dd", "drain ev/s", "drain MB/s", "target");
  for (const Summary& s : summaries) {
    if (s.runs.empty()) {
      continue;
    }
    const double share = MedianOf(s.runs, &Figures::share_of_dd);
    std::printf(
        "%-23.*s %8.1f %11.0f %10.1f %7.1f%% %11.0f %10.1f %7s\n",
        static_cast<int>(s.variant.name.size()), s.variant.name.data(),
        MedianOf(s.runs, &Figures::dd_mb_per_s), MedianOf(s.runs, &Figures::spill_events_per_s),
        MedianOf(s.runs, &Figures::spill_mb_per_s), 100 * share,
        MedianOf(s.runs, &Figures::drain_events_per_s), MedianOf(s.runs, &Figures::drain_mb_per_s),
        share >= kTargetShareOfDd ? "met" : "MISSED");
  }
  std::printf(
      "(%% of dd: the median of each run's spill MB/s over its own dd run; target >= %.0f%%)\n",
      100 * kTargetShareOfDd);
  return failed ? 1 : 0;
}

}  // namespace
}  // namespace gridgate::filter

int main(int argc, char** argv) { return gridgate::filter::Main(argc, argv); }
