#pragma once

// The gateway's configuration: plain structs, one per section of the TOML
// file (docs/configuration.md), each member initialised to the value the
// daemon runs with when given no file. config/toml_loader.h reads and prints
// them; the To*() helpers below turn them into the options of the modules they
// configure, so that the names and units of the file stay in one place.
//
// Everything here is a value: copy it, compare it (operator==), no threads.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/status.h"
#include "dispatch/dispatcher.h"
#include "event/classifier.h"
#include "event/json_decoder.h"
#include "event/priority.h"
#include "filter/filter_options.h"
#include "spill/spill_options.h"

namespace gridgate::config {

// [http]: the HTTP ingest source (POST /api/v1/events).
struct HttpConfig {
  std::string listen = "127.0.0.1:8080";
  uint64_t max_body_bytes = uint64_t{16} << 20;  // larger bodies get 413
  uint32_t max_connections = 1024;
  uint32_t idle_timeout_ms = 30'000;

  bool operator==(const HttpConfig&) const = default;
};

// [tcp]: the NDJSON-over-TCP ingest source.
struct TcpConfig {
  std::string listen = "127.0.0.1:7070";
  uint64_t max_line_bytes = 8192;
  uint32_t max_connections = 1024;
  uint32_t idle_timeout_ms = 300'000;

  bool operator==(const TcpConfig&) const = default;
};

// [admin]: the admin API (backpressure, metrics, health).
struct AdminConfig {
  std::string listen = "127.0.0.1:8081";

  bool operator==(const AdminConfig&) const = default;
};

// [events]: limits of the ingest format.
struct EventsConfig {
  uint64_t max_event_bytes = 4096;  // of one event's JSON object text

  bool operator==(const EventsConfig&) const = default;
};

// [memory]: the BackpressureFilter's memory tier (filter::FilterOptions).
// Fractions are of budget_bytes.
struct MemoryConfig {
  uint64_t budget_bytes = uint64_t{512} << 20;
  double high_watermark = 0.80;
  double low_watermark = 0.60;
  double critical_reserve = 0.05;
  double high_reserve = 0.05;
  uint64_t slab_bytes = uint64_t{4} << 20;
  int64_t release_quiet_period_ms = 5000;
  uint32_t retry_after_min_ms = 100;
  uint32_t retry_after_max_ms = 30'000;
  uint32_t retry_after_default_ms = 1000;

  bool operator==(const MemoryConfig&) const = default;
};

// [spill]: the disk tier (spill::SpillOptions), used when `enabled`.
struct SpillConfig {
  bool enabled = true;
  std::string dir = "./var/spill";
  uint64_t segment_bytes = spill::SpillOptions{}.segment_bytes;
  uint32_t block_bytes = spill::SpillOptions{}.block_bytes;
  uint64_t disk_budget_bytes = 0;  // 0: half the free space when the store opens
  spill::FsyncPolicy fsync = spill::SpillOptions{}.fsync;
  uint32_t fsync_interval_ms = spill::SpillOptions{}.fsync_interval_ms;
  spill::DurabilityMode mode = spill::DurabilityMode::kOverflow;

  bool operator==(const SpillConfig&) const = default;
};

// [dispatch]: the dispatcher (dispatch::DispatcherOptions).
struct DispatchConfig {
  uint64_t max_batch_events = 512;
  uint64_t max_batch_bytes = uint64_t{256} << 10;
  uint32_t pop_timeout_ms = 100;
  uint32_t backoff_initial_ms = 100;
  uint32_t backoff_max_ms = 10'000;

  bool operator==(const DispatchConfig&) const = default;
};

enum class SinkType : uint8_t { kFile, kStdout, kHttp };

// "file", "stdout", "http".
std::string_view SinkTypeName(SinkType type);

// [sink.file]: NDJSON files with size-based rotation.
struct FileSinkConfig {
  std::string path = "./var/events.ndjson";
  uint64_t max_file_bytes = uint64_t{256} << 20;
  uint32_t max_files = 8;
  bool fsync_each_batch = false;

  bool operator==(const FileSinkConfig&) const = default;
};

// [sink.http]: batched NDJSON POSTs to a webhook.
struct HttpSinkConfig {
  std::string url;  // required when sink.type is "http"
  uint32_t timeout_ms = 5000;

  bool operator==(const HttpSinkConfig&) const = default;
};

// [sink]: where the dispatcher delivers; only the chosen type's table is used.
struct SinkConfig {
  SinkType type = SinkType::kFile;
  FileSinkConfig file;
  HttpSinkConfig http;

  bool operator==(const SinkConfig&) const = default;
};

// [classifier]: event type -> priority. The maps start as the default table of
// ../shared/EVENTS.md (event::ClassifierRules::Default()); the file changes
// rows and adds new ones, it cannot remove one. Ordered maps, so that
// --print-config is stable.
struct ClassifierConfig {
  std::vector<std::string> trusted_sources;
  std::map<std::string, Priority> types = DefaultTypes();
  std::map<std::string, std::string> cim_codes = DefaultCimCodes();  // code -> type
  std::map<std::string, std::string> vendor_codes;                   // code -> type

  static std::map<std::string, Priority> DefaultTypes();
  static std::map<std::string, std::string> DefaultCimCodes();

  bool operator==(const ClassifierConfig&) const = default;
};

enum class LogLevel : uint8_t { kTrace, kDebug, kInfo, kWarn, kError };

// "trace", "debug", "info", "warn", "error".
std::string_view LogLevelName(LogLevel level);

// [log]
struct LogConfig {
  LogLevel level = LogLevel::kInfo;

  bool operator==(const LogConfig&) const = default;
};

// The whole configuration. A default-constructed GatewayConfig is the daemon's
// configuration without a file, and passes ValidateConfig.
struct GatewayConfig {
  HttpConfig http;
  TcpConfig tcp;
  AdminConfig admin;
  EventsConfig events;
  MemoryConfig memory;
  SpillConfig spill;
  DispatchConfig dispatch;
  SinkConfig sink;
  ClassifierConfig classifier;
  LogConfig log;

  bool operator==(const GatewayConfig&) const = default;
};

// A listen address. `host` is without brackets ("::1", "127.0.0.1",
// "localhost"); port 0 lets the OS pick one.
struct HostPort {
  std::string host;
  uint16_t port = 0;

  bool operator==(const HostPort&) const = default;
};

// Parses "host:port": an IPv4 address, a host name, or an IPv6 address in
// brackets ("[::1]:0"); the port is 0 to 65535. InvalidArgument naming `key`
// ("http.listen: ...") otherwise.
Result<HostPort> ParseListen(std::string_view text, std::string_view key = "listen");

// Checks the whole configuration: each listen address, the sink, the limits
// that depend on each other, and the modules' own validators
// (FilterOptions::Validate, SpillOptions::Validate, DispatcherOptions::Validate,
// Classifier::Create), whose messages are prefixed with the section
// ("memory: ...", "spill: ..."). The loader calls it; call it again after the
// last ApplyOverride.
Status ValidateConfig(const GatewayConfig& config);

// The memory tier's options, with the disk tier when spill.enabled and
// max_event_bytes from [events]. The clock is the system clock.
filter::FilterOptions ToFilterOptions(const GatewayConfig& config);

// The disk tier's options (whether or not spill.enabled).
spill::SpillOptions ToSpillOptions(const GatewayConfig& config);

dispatch::DispatcherOptions ToDispatcherOptions(const GatewayConfig& config);

// The default rules with the configured changes (the maps already hold the
// defaults; see ClassifierConfig).
event::ClassifierRules ToClassifierRules(const GatewayConfig& config);

event::DecodeOptions ToDecodeOptions(const GatewayConfig& config);

}  // namespace gridgate::config
