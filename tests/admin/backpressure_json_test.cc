// The backpressure document: strict JSON, the figures of a real filter's
// stats after a small storm with a disk tier, a fixed key order, and null for
// what is unknown.

#include "admin/backpressure_json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "admin/admin_scenario.h"
#include "fakes/json_check.h"
#include "fakes/temp_dir.h"

namespace gridgate::admin {
namespace {

using gridgate::testing::JsonCheck;
using gridgate::testing::JsonNode;

// The document parsed; fails the test (and returns an empty object) when it
// is not strict JSON.
JsonNode ParseDoc(const std::string& doc) {
  std::string error;
  std::optional<JsonNode> root = JsonCheck::Parse(doc, &error);
  EXPECT_TRUE(root.has_value()) << error << "\n" << doc;
  if (!root.has_value()) {
    return JsonNode{.kind = JsonNode::Kind::kObject};
  }
  EXPECT_EQ(root->kind, JsonNode::Kind::kObject);
  return *root;
}

std::vector<std::string> Keys(const JsonNode& object) { return object.keys; }

class BackpressureJsonTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(scenario_.Run().ok()); }

  // The unsigned integer at `path`; fails the test when it is not one.
  uint64_t Uint(const JsonNode& root, std::string_view path) {
    const JsonNode* n = root.Find(path);
    EXPECT_NE(n, nullptr) << path;
    if (n == nullptr) {
      return UINT64_MAX;
    }
    EXPECT_EQ(n->kind, JsonNode::Kind::kNumber) << path;
    EXPECT_EQ(n->text.find_first_not_of("0123456789"), std::string::npos) << path << " " << n->text;
    return std::strtoull(n->text.c_str(), nullptr, 10);
  }

  // The number at `path` as a double; NaN when absent or not a number.
  double Double(const JsonNode& root, std::string_view path) {
    const JsonNode* n = root.Find(path);
    EXPECT_NE(n, nullptr) << path;
    if (n == nullptr || n->kind != JsonNode::Kind::kNumber) {
      ADD_FAILURE() << path << " is not a number";
      return std::nan("");
    }
    return std::strtod(n->text.c_str(), nullptr);
  }

  bool IsNull(const JsonNode& root, std::string_view path) {
    const JsonNode* n = root.Find(path);
    EXPECT_NE(n, nullptr) << path;
    return n != nullptr && n->kind == JsonNode::Kind::kNull;
  }

  gridgate::testing::TempDir dir_;
  testing::AdminScenario scenario_{dir_.path()};
};

TEST(JsonCheckTest, AcceptsValidAndRejectsMalformedDocuments) {
  for (const char* good : {R"({"a": [1, -0.5, 2e+3, 1E-05, true, false, null], "b": {}})",
                           R"("\u00e9\ud83d\ude00\n")", "  0 ", "[]", "\"\xc3\xa9\""}) {
    std::string error;
    EXPECT_TRUE(JsonCheck::Parse(good, &error).has_value()) << good << ": " << error;
  }
  for (const char* bad : {R"({"a": 1,})",
                          R"([1, 2,])",
                          R"({"a": NaN})",
                          R"({"a": Infinity})",
                          R"({"a": 01})",
                          R"({"a": .5})",
                          R"({"a": 1.})",
                          R"({"a": +1})",
                          R"({"a": 1 "b": 2})",
                          R"({"a": 1, "a": 2})",
                          R"({a: 1})",
                          R"({"a": 1}})",
                          R"({"a": 1} x)",
                          "\"tab\there\"",
                          R"("\x")",
                          R"("\ud800")",
                          "\"\xc3\"",
                          "\"\xc0\xaf\"",
                          "\"\xed\xa0\x80\"",
                          R"({"a": tru})",
                          "",
                          "{"}) {
    EXPECT_FALSE(JsonCheck::Parse(bad).has_value()) << bad;
  }
}

TEST_F(BackpressureJsonTest, DocumentIsStrictJsonWithTheFiltersFigures) {
  const GatewaySnapshot snap = scenario_.Snapshot();
  const filter::FilterStats& s = snap.filter;
  // The scenario did what it says, or the checks below prove little.
  ASSERT_EQ(s.state, filter::FilterState::kSpilling);
  ASSERT_GT(s.OnDisk(), 0u);
  ASSERT_GT(s.spill.fsyncs, 0u);
  ASSERT_EQ(s.InFlight(), testing::AdminScenario::kBatch);

  const JsonNode root = ParseDoc(RenderBackpressureJson(snap));
  EXPECT_EQ(root.Find("state")->text, "spilling");
  EXPECT_EQ(root.Find("version")->text, snap.version);  // quotes and backslash round-trip
  EXPECT_EQ(Uint(root, "timestamp_unix_ms"), static_cast<uint64_t>(snap.timestamp_unix_ms));
  EXPECT_EQ(Double(root, "uptime_seconds"), 42.5);

  EXPECT_EQ(Uint(root, "memory.budget_bytes"), 64u * 1024);
  EXPECT_EQ(Uint(root, "memory.used_bytes"), s.used_bytes);
  EXPECT_GE(s.peak_used_bytes, s.used_bytes);
  EXPECT_EQ(Uint(root, "memory.peak_used_bytes"), s.peak_used_bytes);
  EXPECT_EQ(Uint(root, "memory.mapped_bytes"), s.mapped_bytes);
  EXPECT_DOUBLE_EQ(Double(root, "memory.utilisation"),
                   static_cast<double>(s.used_bytes) / (64.0 * 1024));
  EXPECT_EQ(Uint(root, "memory.watermarks.high_bytes"), s.high_watermark_bytes);
  EXPECT_EQ(Uint(root, "memory.watermarks.low_bytes"), s.low_watermark_bytes);
  EXPECT_DOUBLE_EQ(Double(root, "memory.watermarks.high_fraction"),
                   static_cast<double>(s.high_watermark_bytes) / (64.0 * 1024));
  EXPECT_DOUBLE_EQ(Double(root, "memory.watermarks.low_fraction"),
                   static_cast<double>(s.low_watermark_bytes) / (64.0 * 1024));
  EXPECT_NEAR(Double(root, "memory.watermarks.high_fraction"), 0.8, 0.01);
  EXPECT_EQ(Uint(root, "memory.reserves.critical_bytes"), s.critical_reserve_bytes);
  EXPECT_EQ(Uint(root, "memory.reserves.high_bytes"), s.high_reserve_bytes);

  EXPECT_EQ(root.Find("spill.enabled")->kind, JsonNode::Kind::kBool);
  EXPECT_TRUE(root.Find("spill.enabled")->boolean);
  uint64_t spilled = 0;
  for (const filter::LevelStats& l : s.levels) {
    spilled += l.spilled;
  }
  EXPECT_GT(spilled, 0u);
  EXPECT_EQ(Uint(root, "spill.spilled"), spilled);
  EXPECT_EQ(Uint(root, "spill.disk_bytes_used"), s.spill.disk_bytes_used);
  EXPECT_EQ(Uint(root, "spill.disk_budget_bytes"), s.spill.disk_budget_bytes);
  EXPECT_EQ(Uint(root, "spill.segments_live"), s.spill.segments_live);
  EXPECT_EQ(Uint(root, "spill.segments_free"), s.spill.segments_free);
  EXPECT_EQ(Uint(root, "spill.events_on_disk.normal"),
            s.levels[LevelIndex(Priority::kNormal)].on_disk_events);
  EXPECT_EQ(Uint(root, "spill.events_on_disk.critical"), 0u);
  EXPECT_EQ(Uint(root, "spill.corrupt_records"), 0u);
  EXPECT_EQ(Uint(root, "spill.fsync.count"), s.spill.fsyncs);
  EXPECT_DOUBLE_EQ(Double(root, "spill.fsync.mean_latency_ms"),
                   static_cast<double>(s.spill.fsync_ns_total) / s.spill.fsyncs / 1e6);
  EXPECT_DOUBLE_EQ(Double(root, "spill.fsync.max_latency_ms"), s.spill.fsync_ns_max / 1e6);

  // Critical events went first: all delivered; the first batch took 3 readings.
  EXPECT_EQ(Uint(root, "levels.critical.accepted"), testing::AdminScenario::kCritical);
  EXPECT_EQ(Uint(root, "levels.critical.delivered"), testing::AdminScenario::kCritical);
  EXPECT_EQ(Uint(root, "levels.critical.queued_events"), 0u);
  const filter::LevelStats& normal = s.levels[LevelIndex(Priority::kNormal)];
  EXPECT_EQ(Uint(root, "levels.normal.accepted"), normal.accepted);
  EXPECT_EQ(Uint(root, "levels.normal.delivered"),
            testing::AdminScenario::kBatch - testing::AdminScenario::kCritical);
  EXPECT_EQ(Uint(root, "levels.normal.returned"), testing::AdminScenario::kBatch);
  EXPECT_EQ(Uint(root, "levels.normal.in_flight_events"), testing::AdminScenario::kBatch);
  EXPECT_EQ(Uint(root, "levels.normal.queued_events"), normal.queued_events);
  EXPECT_EQ(Uint(root, "levels.normal.queued_bytes"), normal.queued_bytes);
  EXPECT_EQ(Uint(root, "levels.normal.on_disk_events"), normal.on_disk_events);
  EXPECT_EQ(Uint(root, "levels.normal.oldest_queued_age_ms"),
            static_cast<uint64_t>(testing::AdminScenario::kAgeMs));
  EXPECT_EQ(Uint(root, "levels.low.refused"), testing::AdminScenario::kTooLarge);
  EXPECT_EQ(Uint(root, "levels.low.accepted"), 0u);
  EXPECT_DOUBLE_EQ(Double(root, "levels.critical.latency_p50_ms"), 1.5);
  EXPECT_DOUBLE_EQ(Double(root, "levels.critical.latency_p99_ms"), 12.25);
  EXPECT_TRUE(IsNull(root, "levels.high.latency_p50_ms"));
  EXPECT_TRUE(IsNull(root, "levels.low.latency_p99_ms"));

  EXPECT_EQ(Uint(root, "refused_by_reason.too_large"), testing::AdminScenario::kTooLarge);
  EXPECT_EQ(Uint(root, "refused_by_reason.memory_full"),
            s.refused_by_reason[static_cast<size_t>(filter::RefuseReason::kMemoryFull)]);
  EXPECT_EQ(root.Find("refused_by_reason.none"), nullptr);

  EXPECT_EQ(Uint(root, "ledger.accepted"), s.Accepted());
  EXPECT_EQ(Uint(root, "ledger.accepted"), testing::AdminScenario::kCritical + normal.accepted);
  EXPECT_EQ(Uint(root, "ledger.queued"), s.Queued());
  EXPECT_EQ(Uint(root, "ledger.on_disk"), s.OnDisk());
  EXPECT_EQ(Uint(root, "ledger.in_flight"), testing::AdminScenario::kBatch);
  EXPECT_EQ(Uint(root, "ledger.delivered"), testing::AdminScenario::kBatch);
  EXPECT_EQ(Uint(root, "ledger.lost"), 0u);
  EXPECT_EQ(Uint(root, "ledger.refused"), s.Refused());
  EXPECT_EQ(Uint(root, "ledger.accepted") + Uint(root, "ledger.recovered"),
            Uint(root, "ledger.queued") + Uint(root, "ledger.on_disk") +
                Uint(root, "ledger.in_flight") + Uint(root, "ledger.delivered") +
                Uint(root, "ledger.lost"));
  ASSERT_NE(root.Find("ledger.balanced"), nullptr);
  EXPECT_EQ(root.Find("ledger.balanced")->kind, JsonNode::Kind::kBool);
  EXPECT_TRUE(root.Find("ledger.balanced")->boolean);

  EXPECT_DOUBLE_EQ(Double(root, "rates.ingest_events_per_second"), 1234.5);
  EXPECT_DOUBLE_EQ(Double(root, "rates.dispatch_events_per_second"), 50);
  EXPECT_EQ(Uint(root, "backlog_events"), s.Queued() + s.OnDisk());
  EXPECT_DOUBLE_EQ(Double(root, "drain_estimate_seconds"),
                   static_cast<double>(s.Queued() + s.OnDisk()) / 50);
}

TEST_F(BackpressureJsonTest, KeysComeInAFixedOrderAndEveryLevelHasTheSameOnes) {
  const GatewaySnapshot snap = scenario_.Snapshot();
  const std::string doc = RenderBackpressureJson(snap);
  EXPECT_EQ(doc, RenderBackpressureJson(snap));
  ASSERT_FALSE(doc.empty());
  EXPECT_EQ(doc.back(), '\n');

  const JsonNode root = ParseDoc(doc);
  EXPECT_EQ(Keys(root), (std::vector<std::string>{
                            "version", "timestamp_unix_ms", "uptime_seconds", "state",
                            "pressured_transitions", "memory", "spill", "levels",
                            "refused_by_reason", "ledger", "ingest", "rates", "batches_in_flight",
                            "seq_lease_errors", "backlog_events", "drain_estimate_seconds"}));
  EXPECT_EQ(Keys(*root.Find("levels")),
            (std::vector<std::string>{"critical", "high", "normal", "low"}));
  EXPECT_EQ(Keys(*root.Find("ingest")),
            (std::vector<std::string>{"requests", "events", "invalid_events", "bad_bodies"}));
  EXPECT_EQ(Keys(*root.Find("spill.events_on_disk")),
            (std::vector<std::string>{"critical", "high", "normal", "low"}));
  EXPECT_EQ(Keys(*root.Find("refused_by_reason")),
            (std::vector<std::string>{"memory_full", "too_large", "invalid", "shutting_down",
                                      "disk_full", "disk_error"}));
  EXPECT_EQ(Keys(*root.Find("ledger")),
            (std::vector<std::string>{"accepted", "recovered", "queued", "on_disk", "in_flight",
                                      "delivered", "lost", "refused", "balanced"}));
  const std::vector<std::string> level_keys = Keys(*root.Find("levels.critical"));
  EXPECT_EQ(level_keys.size(), 17u);
  for (const char* level : {"high", "normal", "low"}) {
    EXPECT_EQ(Keys(*root.Find(std::string("levels.") + level)), level_keys) << level;
  }
}

TEST_F(BackpressureJsonTest, AnUnbalancedLedgerSaysSo) {
  GatewaySnapshot snap = scenario_.Snapshot();
  ++snap.filter.levels[LevelIndex(Priority::kHigh)].delivered;  // an event out of nowhere
  const JsonNode root = ParseDoc(RenderBackpressureJson(snap));
  ASSERT_NE(root.Find("ledger.balanced"), nullptr);
  EXPECT_EQ(root.Find("ledger.balanced")->kind, JsonNode::Kind::kBool);
  EXPECT_FALSE(root.Find("ledger.balanced")->boolean);
}

TEST_F(BackpressureJsonTest, NonFiniteAndUnknownFiguresAreNull) {
  GatewaySnapshot snap = scenario_.Snapshot();
  snap.ingest_events_per_second = std::numeric_limits<double>::quiet_NaN();
  snap.uptime_seconds = std::numeric_limits<double>::infinity();
  snap.dispatch_events_per_second = 0;  // with a backlog: it never drains
  snap.delivery_latency[LevelIndex(Priority::kCritical)] =
      LatencyQuantiles{-std::numeric_limits<double>::infinity(), 3};
  snap.filter.budget_bytes = 0;
  const std::string doc = RenderBackpressureJson(snap);
  const JsonNode root = ParseDoc(doc);
  EXPECT_TRUE(IsNull(root, "rates.ingest_events_per_second"));
  EXPECT_TRUE(IsNull(root, "uptime_seconds"));
  EXPECT_TRUE(IsNull(root, "drain_estimate_seconds"));
  EXPECT_TRUE(IsNull(root, "levels.critical.latency_p50_ms"));
  EXPECT_DOUBLE_EQ(Double(root, "levels.critical.latency_p99_ms"), 3);
  EXPECT_TRUE(IsNull(root, "memory.utilisation"));
  EXPECT_TRUE(IsNull(root, "memory.watermarks.high_fraction"));
  EXPECT_EQ(doc.find("nan"), std::string::npos);
  EXPECT_EQ(doc.find("inf"), std::string::npos);
}

TEST(BackpressureJsonEmptyTest, AFreshGatewayHasNoBacklogAndNoFsyncFigures) {
  GatewaySnapshot snap;  // what a daemon shows before its first event, without a disk tier
  snap.version = "\x01 bad \xff utf-8";
  const std::string doc = RenderBackpressureJson(snap);
  std::string error;
  const std::optional<JsonNode> root = JsonCheck::Parse(doc, &error);
  ASSERT_TRUE(root.has_value()) << error << "\n" << doc;
  EXPECT_EQ(root->Find("state")->text, "normal");
  EXPECT_EQ(root->Find("drain_estimate_seconds")->text, "0");  // no backlog: done now
  EXPECT_EQ(root->Find("spill.fsync.mean_latency_ms")->kind, JsonNode::Kind::kNull);
  EXPECT_EQ(root->Find("spill.fsync.max_latency_ms")->kind, JsonNode::Kind::kNull);
  EXPECT_FALSE(root->Find("spill.enabled")->boolean);
  EXPECT_TRUE(root->Find("ledger.balanced")->boolean);
}

TEST(DrainEstimateTest, IsTheBacklogOverTheDispatchRate) {
  GatewaySnapshot snap;
  EXPECT_EQ(DrainEstimateSeconds(snap), 0.0);
  snap.filter.levels[LevelIndex(Priority::kLow)].queued_events = 300;
  snap.filter.levels[LevelIndex(Priority::kNormal)].on_disk_events = 700;
  snap.filter.levels[LevelIndex(Priority::kHigh)].in_flight_events = 5000;  // not backlog
  EXPECT_EQ(DrainEstimateSeconds(snap), std::nullopt);
  snap.dispatch_events_per_second = 250;
  EXPECT_EQ(DrainEstimateSeconds(snap), 4.0);
  snap.dispatch_events_per_second = -1;
  EXPECT_EQ(DrainEstimateSeconds(snap), std::nullopt);
  snap.dispatch_events_per_second = std::numeric_limits<double>::infinity();
  EXPECT_EQ(DrainEstimateSeconds(snap), std::nullopt);
}

}  // namespace
}  // namespace gridgate::admin
