#include "config/toml_loader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>

#include "config/gateway_config.h"
#include "event/classifier.h"

namespace gridgate::config {
namespace {

// Every key set to something other than its default (and valid together).
constexpr std::string_view kFullFile = R"(
[http]
listen = "0.0.0.0:18080"
max_body_bytes = 1048576
max_connections = 64
idle_timeout_ms = 1000

[tcp]
listen = "[::1]:0"
max_line_bytes = 16384
max_connections = 32
idle_timeout_ms = 2000

[admin]
listen = "localhost:18081"

[events]
max_event_bytes = 8192

[memory]
budget_bytes = 67108864
high_watermark = 0.9
low_watermark = 0.5
critical_reserve = 0.1
high_reserve = 0.02
slab_bytes = 1048576
release_quiet_period_ms = 100
retry_after_min_ms = 50
retry_after_max_ms = 5000
retry_after_default_ms = 500

[spill]
enabled = false
dir = "/tmp/gg \"spill\""
segment_bytes = 8392704
block_bytes = 65536
disk_budget_bytes = 1073741824
fsync = "batch"
fsync_interval_ms = 50
mode = "write_through"

[dispatch]
max_batch_events = 64
max_batch_bytes = 65536
pop_timeout_ms = 20
backoff_initial_ms = 10
backoff_max_ms = 2000

[sink]
type = "http"

[sink.file]
path = "/var/lib/gridgate/out.ndjson"
max_file_bytes = 1000000
max_files = 3
fsync_each_batch = true

[sink.http]
url = "http://127.0.0.1:9999/hook"
timeout_ms = 750

[classifier]
trusted_sources = ["headend-a", "collector-7"]

[classifier.types]
last_gasp = "high"
my_alarm = "critical"

[classifier.cim_codes]
"9.9.9.9" = "my_alarm"

[classifier.vendor_codes]
ACME-17 = "over_voltage"

[log]
level = "debug"
)";

// The message of a failed load; "" when it loaded.
std::string LoadError(std::string_view text) {
  Result<GatewayConfig> r = LoadConfigString(text);
  return r.ok() ? std::string() : r.status().message();
}

class TempFile {
 public:
  explicit TempFile(std::string_view contents) {
    char name[] = "/tmp/gridgate_config_test_XXXXXX";
    const int fd = mkstemp(name);
    EXPECT_GE(fd, 0);
    close(fd);
    path_ = name;
    std::ofstream(path_, std::ios::binary) << contents;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(ConfigDefaultsTest, EmptyFileIsTheIssueDefaults) {
  TempFile file("");
  Result<GatewayConfig> r = LoadConfigFile(file.path());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const GatewayConfig& c = r.value();
  EXPECT_EQ(c, GatewayConfig{});

  EXPECT_EQ(c.http.listen, "127.0.0.1:8080");
  EXPECT_EQ(c.http.max_body_bytes, 16u << 20);
  EXPECT_EQ(c.http.max_connections, 1024u);
  EXPECT_EQ(c.http.idle_timeout_ms, 30000u);
  EXPECT_EQ(c.tcp.listen, "127.0.0.1:7070");
  EXPECT_EQ(c.tcp.max_line_bytes, 8192u);
  EXPECT_EQ(c.tcp.idle_timeout_ms, 300000u);
  EXPECT_EQ(c.admin.listen, "127.0.0.1:8081");
  EXPECT_EQ(c.events.max_event_bytes, 4096u);
  EXPECT_EQ(c.memory.budget_bytes, 512u << 20);
  EXPECT_EQ(c.memory.high_watermark, 0.8);
  EXPECT_EQ(c.memory.low_watermark, 0.6);
  EXPECT_EQ(c.memory.slab_bytes, 4u << 20);
  EXPECT_EQ(c.memory.release_quiet_period_ms, 5000);
  EXPECT_TRUE(c.spill.enabled);
  EXPECT_EQ(c.spill.dir, "./var/spill");
  EXPECT_EQ(c.spill.disk_budget_bytes, 0u);
  EXPECT_EQ(c.dispatch.max_batch_events, 512u);
  EXPECT_EQ(c.dispatch.max_batch_bytes, 256u << 10);
  EXPECT_EQ(c.dispatch.backoff_max_ms, 10000u);
  EXPECT_EQ(c.sink.type, SinkType::kFile);
  EXPECT_EQ(c.sink.file.path, "./var/events.ndjson");
  EXPECT_EQ(c.sink.file.max_file_bytes, 256u << 20);
  EXPECT_EQ(c.sink.file.max_files, 8u);
  EXPECT_FALSE(c.sink.file.fsync_each_batch);
  EXPECT_EQ(c.sink.http.url, "");
  EXPECT_EQ(c.sink.http.timeout_ms, 5000u);
  EXPECT_TRUE(c.classifier.trusted_sources.empty());
  EXPECT_EQ(c.classifier.types.at("last_gasp"), Priority::kCritical);
  EXPECT_EQ(c.classifier.cim_codes.at("3.26.38.93"), "over_voltage");
  EXPECT_EQ(c.log.level, LogLevel::kInfo);

  // The defaults are what the modules themselves default to.
  const filter::FilterOptions f = ToFilterOptions(c);
  EXPECT_EQ(f.budget_bytes, filter::FilterOptions{}.budget_bytes);
  EXPECT_EQ(f.slab_bytes, filter::FilterOptions{}.slab_bytes);
  ASSERT_TRUE(f.spill.has_value());
  EXPECT_EQ(f.spill->segment_bytes, spill::SpillOptions{}.segment_bytes);
  EXPECT_EQ(f.spill->fsync, spill::SpillOptions{}.fsync);
  EXPECT_TRUE(ValidateConfig(c).ok());
}

TEST(ConfigLoadTest, EverySectionIsRead) {
  Result<GatewayConfig> r = LoadConfigString(kFullFile);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const GatewayConfig& c = r.value();
  EXPECT_EQ(c.http.listen, "0.0.0.0:18080");
  EXPECT_EQ(c.http.max_body_bytes, 1048576u);
  EXPECT_EQ(c.http.max_connections, 64u);
  EXPECT_EQ(c.http.idle_timeout_ms, 1000u);
  EXPECT_EQ(c.tcp.listen, "[::1]:0");
  EXPECT_EQ(c.tcp.max_line_bytes, 16384u);
  EXPECT_EQ(c.tcp.max_connections, 32u);
  EXPECT_EQ(c.tcp.idle_timeout_ms, 2000u);
  EXPECT_EQ(c.admin.listen, "localhost:18081");
  EXPECT_EQ(c.events.max_event_bytes, 8192u);
  EXPECT_EQ(c.memory.budget_bytes, 64u << 20);
  EXPECT_EQ(c.memory.high_watermark, 0.9);
  EXPECT_EQ(c.memory.low_watermark, 0.5);
  EXPECT_EQ(c.memory.critical_reserve, 0.1);
  EXPECT_EQ(c.memory.high_reserve, 0.02);
  EXPECT_EQ(c.memory.slab_bytes, 1u << 20);
  EXPECT_EQ(c.memory.release_quiet_period_ms, 100);
  EXPECT_EQ(c.memory.retry_after_min_ms, 50u);
  EXPECT_EQ(c.memory.retry_after_max_ms, 5000u);
  EXPECT_EQ(c.memory.retry_after_default_ms, 500u);
  EXPECT_FALSE(c.spill.enabled);
  EXPECT_EQ(c.spill.dir, "/tmp/gg \"spill\"");
  EXPECT_EQ(c.spill.segment_bytes, 8392704u);
  EXPECT_EQ(c.spill.block_bytes, 65536u);
  EXPECT_EQ(c.spill.disk_budget_bytes, 1u << 30);
  EXPECT_EQ(c.spill.fsync, spill::FsyncPolicy::kEveryBatch);
  EXPECT_EQ(c.spill.fsync_interval_ms, 50u);
  EXPECT_EQ(c.spill.mode, spill::DurabilityMode::kWriteThrough);
  EXPECT_EQ(c.dispatch.max_batch_events, 64u);
  EXPECT_EQ(c.dispatch.max_batch_bytes, 65536u);
  EXPECT_EQ(c.dispatch.pop_timeout_ms, 20u);
  EXPECT_EQ(c.dispatch.backoff_initial_ms, 10u);
  EXPECT_EQ(c.dispatch.backoff_max_ms, 2000u);
  EXPECT_EQ(c.sink.type, SinkType::kHttp);
  EXPECT_EQ(c.sink.file.path, "/var/lib/gridgate/out.ndjson");
  EXPECT_EQ(c.sink.file.max_file_bytes, 1000000u);
  EXPECT_EQ(c.sink.file.max_files, 3u);
  EXPECT_TRUE(c.sink.file.fsync_each_batch);
  EXPECT_EQ(c.sink.http.url, "http://127.0.0.1:9999/hook");
  EXPECT_EQ(c.sink.http.timeout_ms, 750u);
  EXPECT_EQ(c.classifier.trusted_sources, (std::vector<std::string>{"headend-a", "collector-7"}));
  EXPECT_EQ(c.classifier.types.at("last_gasp"), Priority::kHigh);
  EXPECT_EQ(c.classifier.types.at("my_alarm"), Priority::kCritical);
  EXPECT_EQ(c.classifier.types.at("power_down"), Priority::kCritical);  // default kept
  EXPECT_EQ(c.classifier.cim_codes.at("9.9.9.9"), "my_alarm");
  EXPECT_EQ(c.classifier.vendor_codes.at("ACME-17"), "over_voltage");
  EXPECT_EQ(c.log.level, LogLevel::kDebug);

  const filter::FilterOptions f = ToFilterOptions(c);
  EXPECT_FALSE(f.spill.has_value());  // spill.enabled = false
  EXPECT_EQ(f.max_event_bytes, 8192u);
  EXPECT_EQ(f.high_watermark_fraction, 0.9);
  EXPECT_EQ(f.retry_after_default_ms, 500u);
  const dispatch::DispatcherOptions d = ToDispatcherOptions(c);
  EXPECT_EQ(d.batch.max_events, 64u);
  EXPECT_EQ(d.batch.max_bytes, 65536u);
  EXPECT_EQ(d.pop_timeout.count(), 20);
  EXPECT_EQ(d.backoff_initial.count(), 10);
  EXPECT_EQ(d.backoff_max.count(), 2000);
  EXPECT_EQ(ToDecodeOptions(c).max_event_bytes, 8192u);
}

TEST(ConfigLoadTest, DottedKeysAndIntegersForFloatsAreAccepted) {
  Result<GatewayConfig> r = LoadConfigString(
      "http.listen = \"127.0.0.1:0\"\n"
      "memory.high_watermark = 1\n"
      "sink.file.max_files = 2\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->http.listen, "127.0.0.1:0");
  EXPECT_EQ(r->memory.high_watermark, 1.0);
  EXPECT_EQ(r->sink.file.max_files, 2u);
}

TEST(ConfigLoadTest, SpillEnabledPassesSpillOptions) {
  Result<GatewayConfig> r = LoadConfigString("[spill]\ndir = \"/x\"\nfsync = \"never\"\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const filter::FilterOptions f = ToFilterOptions(r.value());
  ASSERT_TRUE(f.spill.has_value());
  EXPECT_EQ(f.spill->dir, "/x");
  EXPECT_EQ(f.spill->fsync, spill::FsyncPolicy::kNever);
}

TEST(ConfigErrorTest, UnknownKeyIsNamedWithASuggestion) {
  EXPECT_EQ(LoadError("[http]\nlsiten = \"127.0.0.1:1\"\n"),
            "unknown key 'http.lsiten' (did you mean 'http.listen'?) (line 2)");
  EXPECT_EQ(LoadError("[sink.file]\nrotate = 3\n"), "unknown key 'sink.file.rotate' (line 2)");
  EXPECT_EQ(LoadError("[htpp]\n"), "unknown key 'htpp' (did you mean 'http'?) (line 1)");
  EXPECT_EQ(LoadError("colour = 1\n"), "unknown key 'colour' (line 1)");
}

TEST(ConfigErrorTest, WrongTypeNamesKeyAndBothTypes) {
  EXPECT_EQ(LoadError("[http]\nmax_body_bytes = \"16MiB\"\n"),
            "http.max_body_bytes: expected an integer, got string (line 2)");
  EXPECT_EQ(LoadError("spill.enabled = 1"),
            "spill.enabled: expected a boolean (true or false), got integer (line 1)");
  EXPECT_EQ(LoadError("memory.high_watermark = \"high\""),
            "memory.high_watermark: expected a number, got string (line 1)");
  EXPECT_EQ(LoadError("http = 5"), "http: expected a table, got integer (line 1)");
  EXPECT_EQ(LoadError("classifier.trusted_sources = [\"a\", 2]"),
            "classifier.trusted_sources[1]: expected a string, got integer (line 1)");
  EXPECT_EQ(LoadError("[classifier.types]\nx = 1\n"),
            "classifier.types.x: expected a string, got integer (line 2)");
  EXPECT_EQ(LoadError("http.listen = 8080"),
            "http.listen: expected a string, got integer (line 1)");
}

TEST(ConfigErrorTest, OutOfRangeNamesKeyAndRange) {
  EXPECT_EQ(LoadError("http.max_connections = 0"),
            "http.max_connections: 0 is out of range [1, 1000000] (line 1)");
  EXPECT_EQ(LoadError("memory.low_watermark = 1.5"),
            "memory.low_watermark: 1.5 is out of range [0.0, 1.0] (line 1)");
  EXPECT_EQ(LoadError("memory.high_watermark = nan"),
            "memory.high_watermark: nan is out of range [0.0, 1.0] (line 1)");
  EXPECT_EQ(LoadError("sink.file.max_files = -1"),
            "sink.file.max_files: -1 is out of range [1, 10000] (line 1)");
}

TEST(ConfigErrorTest, InvalidEnumListsTheAllowedValues) {
  EXPECT_EQ(LoadError("spill.fsync = \"sometimes\""),
            "spill.fsync: 'sometimes' is not one of \"never\", \"interval\", \"batch\" (line 1)");
  EXPECT_EQ(LoadError("log.level = \"verbose\""),
            "log.level: 'verbose' is not one of \"trace\", \"debug\", \"info\", \"warn\", "
            "\"error\" (line 1)");
  EXPECT_EQ(LoadError("sink.type = \"kafka\""),
            "sink.type: 'kafka' is not one of \"file\", \"stdout\", \"http\" (line 1)");
  EXPECT_EQ(LoadError("[classifier.types]\nlast_gasp = \"urgent\"\n"),
            "classifier.types.last_gasp: 'urgent' is not one of \"critical\", \"high\", "
            "\"normal\", \"low\" (line 2)");
}

TEST(ConfigErrorTest, SyntaxErrorHasLineAndColumn) {
  const std::string error = LoadError("[http]\nlisten = \"127.0.0.1:1\"\nmax_body_bytes = = 3\n");
  EXPECT_TRUE(error.starts_with("line 3, column ")) << error;
  EXPECT_NE(error.find("TOML syntax error"), std::string::npos) << error;

  TempFile file("[http\n");
  Result<GatewayConfig> r = LoadConfigFile(file.path());
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().message().starts_with(file.path() + ":1:")) << r.status().message();
}

TEST(ConfigErrorTest, FileErrorsNameTheFile) {
  TempFile file("\n\nhttp.max_connections = 0\n");
  Result<GatewayConfig> r = LoadConfigFile(file.path());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "http.max_connections: 0 is out of range [1, 1000000] (" + file.path() + " line 3)");

  Result<GatewayConfig> missing = LoadConfigFile("/nonexistent/gridgate.toml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Status::Code::kIoError);
  EXPECT_NE(missing.status().message().find("/nonexistent/gridgate.toml"), std::string::npos);
}

TEST(ConfigErrorTest, ValidatorMessagesArePrefixedWithTheSection) {
  EXPECT_EQ(LoadError("memory.low_watermark = 0.9\nmemory.high_watermark = 0.8\n"),
            "memory: low_watermark must be in [0, high_watermark)");
  EXPECT_EQ(LoadError("memory.slab_bytes = 1000"),
            "memory: slab_bytes (1000) must be a positive multiple of the page size (" +
                std::to_string(sysconf(_SC_PAGESIZE)) + ")");
  EXPECT_TRUE(LoadError("spill.block_bytes = 5000").starts_with("spill: block_bytes (5000)"))
      << LoadError("spill.block_bytes = 5000");
  // The spill section is checked only when it is used.
  EXPECT_EQ(LoadError("spill.enabled = false\nspill.block_bytes = 5000"), "");
  EXPECT_EQ(LoadError("dispatch.backoff_initial_ms = 500\ndispatch.backoff_max_ms = 100"),
            "dispatch.backoff_max_ms: 100 must be at least dispatch.backoff_initial_ms (500)");
  EXPECT_EQ(LoadError("[classifier.cim_codes]\n\"1.2.3\" = \"no_such_type\"\n"),
            "classifier: cim_code_type: '1.2.3' maps to type 'no_such_type', which has no "
            "priority");
  EXPECT_EQ(LoadError("sink.type = \"http\""),
            "sink.http.url: required when sink.type is \"http\"");
  EXPECT_EQ(LoadError("tcp.max_line_bytes = 100"),
            "tcp.max_line_bytes: 100 must be at least events.max_event_bytes (4096)");
  EXPECT_EQ(LoadError("admin.listen = \"127.0.0.1:8080\""),
            "admin.listen: '127.0.0.1:8080' is also http.listen");
}

TEST(ParseListenTest, AcceptsAddressesAndPortZero) {
  Result<HostPort> v4 = ParseListen("127.0.0.1:8080");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4.value(), (HostPort{"127.0.0.1", 8080}));
  Result<HostPort> v6 = ParseListen("[::1]:0");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6.value(), (HostPort{"::1", 0}));
  Result<HostPort> name = ParseListen("localhost:65535");
  ASSERT_TRUE(name.ok());
  EXPECT_EQ(name.value(), (HostPort{"localhost", 65535}));
}

TEST(ParseListenTest, RefusalsNameTheKey) {
  for (std::string_view bad :
       {"127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:80x", ":8080", "::1:80", "[::1:80",
        "[zz]:80", "300.1.1.1:80", "host name:80", "127.0.0.1:-1"}) {
    Result<HostPort> r = ParseListen(bad, "tcp.listen");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_TRUE(r.status().message().starts_with("tcp.listen: '" + std::string(bad) + "'"))
        << r.status().message();
  }
  EXPECT_EQ(LoadError("http.listen = \"127.0.0.1\""),
            "http.listen: '127.0.0.1' is not host:port (e.g. 127.0.0.1:8080 or [::1]:8080) "
            "(line 1)");
}

TEST(ConfigRenderTest, DefaultsRoundTrip) {
  const GatewayConfig defaults;
  const std::string text = RenderConfigToml(defaults);
  Result<GatewayConfig> back = LoadConfigString(text);
  ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << text;
  EXPECT_EQ(back.value(), defaults);
  EXPECT_NE(text.find("[http]\nlisten = \"127.0.0.1:8080\"\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\"3.26.38.93\" = \"over_voltage\""), std::string::npos) << text;
  EXPECT_NE(text.find("[log]\nlevel = \"info\"\n"), std::string::npos) << text;
}

TEST(ConfigRenderTest, EveryKeyRoundTrips) {
  // kFullFile changes every key, so a key the renderer forgot comes back as
  // its default and the comparison fails.
  Result<GatewayConfig> full = LoadConfigString(kFullFile);
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  ASSERT_NE(full.value(), GatewayConfig{});
  const std::string text = RenderConfigToml(full.value());
  Result<GatewayConfig> back = LoadConfigString(text);
  ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << text;
  EXPECT_EQ(back.value(), full.value()) << text;
  EXPECT_EQ(RenderConfigToml(back.value()), text);
}

TEST(ConfigRenderTest, OddStringsRoundTrip) {
  GatewayConfig c;
  c.sink.file.path = "/tmp/a\\b\"c\td\x01\xc3\xa9.ndjson";
  c.classifier.trusted_sources = {"with space", "quote\"d"};
  c.classifier.types["x y"] = Priority::kLow;
  c.classifier.vendor_codes["v=1"] = "x y";
  const std::string text = RenderConfigToml(c);
  Result<GatewayConfig> back = LoadConfigString(text);
  ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << text;
  EXPECT_EQ(back.value(), c);
}

TEST(ConfigOverrideTest, SetsValuesOfEveryKind) {
  GatewayConfig c;
  ASSERT_TRUE(ApplyOverride(&c, "http.listen", "127.0.0.1:0").ok());
  EXPECT_EQ(c.http.listen, "127.0.0.1:0");
  ASSERT_TRUE(ApplyOverride(&c, "tcp.max_connections", "10").ok());
  EXPECT_EQ(c.tcp.max_connections, 10u);
  ASSERT_TRUE(ApplyOverride(&c, "spill.enabled", "false").ok());
  EXPECT_FALSE(c.spill.enabled);
  ASSERT_TRUE(ApplyOverride(&c, "memory.high_watermark", "0.95").ok());
  EXPECT_EQ(c.memory.high_watermark, 0.95);
  ASSERT_TRUE(ApplyOverride(&c, "sink.type", "stdout").ok());
  EXPECT_EQ(c.sink.type, SinkType::kStdout);
  ASSERT_TRUE(ApplyOverride(&c, "log.level", "\"warn\"").ok());
  EXPECT_EQ(c.log.level, LogLevel::kWarn);
  // A string key takes the text as it is, even when it would read as TOML.
  ASSERT_TRUE(ApplyOverride(&c, "sink.file.path", "2024-01-01").ok());
  EXPECT_EQ(c.sink.file.path, "2024-01-01");
  ASSERT_TRUE(ApplyOverride(&c, "spill.dir", "/data/spill dir").ok());
  EXPECT_EQ(c.spill.dir, "/data/spill dir");
  ASSERT_TRUE(ApplyOverride(&c, "classifier.trusted_sources", "[\"a\", \"b\"]").ok());
  EXPECT_EQ(c.classifier.trusted_sources, (std::vector<std::string>{"a", "b"}));
  ASSERT_TRUE(ApplyOverride(&c, "classifier.types.my_alarm", "critical").ok());
  EXPECT_EQ(c.classifier.types.at("my_alarm"), Priority::kCritical);
  ASSERT_TRUE(ApplyOverride(&c, "classifier.cim_codes.\"1.2.3\"", "my_alarm").ok());
  ASSERT_TRUE(ApplyOverride(&c, "classifier.vendor_codes.X-9", "my_alarm").ok());
  EXPECT_EQ(c.classifier.cim_codes.at("1.2.3"), "my_alarm");
  EXPECT_EQ(c.classifier.vendor_codes.at("X-9"), "my_alarm");
  ASSERT_TRUE(ApplyOverride(&c, "classifier.types", "{ other = \"low\" }").ok());
  EXPECT_EQ(c.classifier.types.at("other"), Priority::kLow);
  EXPECT_TRUE(ValidateConfig(c).ok()) << ValidateConfig(c).ToString();
}

TEST(ConfigOverrideTest, ErrorsNameTheKeyAndChangeNothing) {
  GatewayConfig c;
  const GatewayConfig before = c;
  Status s = ApplyOverride(&c, "http.lsiten", "127.0.0.1:0");
  EXPECT_EQ(s.message(), "unknown key 'http.lsiten' (did you mean 'http.listen'?)");
  s = ApplyOverride(&c, "http.max_body_bytes", "lots");
  EXPECT_EQ(s.message(), "http.max_body_bytes: expected an integer, got string");
  s = ApplyOverride(&c, "http.max_connections", "0");
  EXPECT_EQ(s.message(), "http.max_connections: 0 is out of range [1, 1000000]");
  s = ApplyOverride(&c, "spill.mode", "sometimes");
  EXPECT_EQ(s.message(), "spill.mode: 'sometimes' is not one of \"overflow\", \"write_through\"");
  s = ApplyOverride(&c, "http.listen", "nowhere");
  EXPECT_EQ(s.message(),
            "http.listen: 'nowhere' is not host:port (e.g. 127.0.0.1:8080 or [::1]:8080)");
  s = ApplyOverride(&c, "classifier.types.x", "urgent");
  EXPECT_FALSE(s.ok());
  s = ApplyOverride(&c, "classifier.types", "{ a = \"low\", b = \"urgent\" }");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(c, before);  // not even the valid entry 'a'
}

TEST(ConfigClassifierTest, OverridesTakeEffect) {
  Result<GatewayConfig> r = LoadConfigString(R"(
[classifier]
trusted_sources = ["headend-a"]
[classifier.types]
last_gasp = "low"
my_alarm = "critical"
[classifier.cim_codes]
"9.9.9.9" = "my_alarm"
[classifier.vendor_codes]
ACME-17 = "under_voltage"
)");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Result<std::unique_ptr<event::Classifier>> made =
      event::Classifier::Create(ToClassifierRules(r.value()));
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  event::Classifier& classifier = *made.value();

  // A changed row, a new type, a new CIM code, a vendor code.
  EXPECT_EQ(classifier.Classify("s", "last_gasp", "", "", std::nullopt).priority, Priority::kLow);
  EXPECT_EQ(classifier.Classify("s", "my_alarm", "", "", std::nullopt).priority,
            Priority::kCritical);
  const event::Classification by_cim = classifier.Classify("s", "vendor_x", "9.9.9.9", "", {});
  EXPECT_EQ(by_cim.priority, Priority::kCritical);
  EXPECT_EQ(by_cim.basis, event::Basis::kCimCode);
  const event::Classification by_vendor = classifier.Classify("s", "vendor_x", "", "ACME-17", {});
  EXPECT_EQ(by_vendor.priority, Priority::kHigh);
  EXPECT_EQ(by_vendor.basis, event::Basis::kVendorCode);
  // Untouched defaults stay; a default CIM code still resolves.
  EXPECT_EQ(classifier.Classify("s", "power_down", "", "", {}).priority, Priority::kCritical);
  EXPECT_EQ(classifier.Classify("s", "?", "3.26.38.93", "", {}).priority, Priority::kCritical);
  // Only the trusted source's own priority counts.
  EXPECT_EQ(classifier.Classify("headend-a", "register_read", "", "", Priority::kCritical).priority,
            Priority::kCritical);
  EXPECT_EQ(classifier.Classify("headend-b", "register_read", "", "", Priority::kCritical).priority,
            Priority::kLow);
}

std::string ReadDoc() {
  std::ifstream in(std::string(GRIDGATE_SOURCE_DIR) + "/docs/configuration.md");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(ConfigDocTest, ExampleFileLoads) {
  const std::string doc = ReadDoc();
  const size_t begin = doc.find("```toml\n");
  ASSERT_NE(begin, std::string::npos) << "docs/configuration.md has no ```toml example";
  const size_t end = doc.find("```", begin + 8);
  ASSERT_NE(end, std::string::npos);
  Result<GatewayConfig> r = LoadConfigString(doc.substr(begin + 8, end - begin - 8));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->sink.type, SinkType::kHttp);
  EXPECT_EQ(r->classifier.types.at("transformer_overload"), Priority::kCritical);
}

TEST(ConfigDocTest, EveryKeyIsDocumentedInItsSection) {
  const std::string doc = ReadDoc();
  ASSERT_FALSE(doc.empty());
  std::istringstream rendered(RenderConfigToml(GatewayConfig{}));
  std::string section;
  std::string_view body;  // the doc's text of `section`, up to the next heading
  for (std::string line; std::getline(rendered, line);) {
    if (line.starts_with("[")) {
      section = line.substr(1, line.size() - 2);
      const size_t at = doc.find("# `[" + section + "]`");
      const size_t in_parent = doc.find("| `[" + section + "]` |");
      ASSERT_TRUE(at != std::string::npos || in_parent != std::string::npos)
          << "no heading or row for [" << section << "]";
      const size_t next = at == std::string::npos ? at : doc.find("\n#", at + 1);
      body = at == std::string::npos ? std::string_view()
                                     : std::string_view(doc).substr(at, next - at);
      continue;
    }
    if (line.empty() || line.starts_with("#") || section.starts_with("classifier.")) {
      continue;  // the classifier tables are documented as rows of [classifier]
    }
    const std::string key = line.substr(0, line.find(" = "));
    EXPECT_NE(body.find("| `" + key + "` |"), std::string_view::npos)
        << section << "." << key << " is not in docs/configuration.md";
  }
}

}  // namespace
}  // namespace gridgate::config
