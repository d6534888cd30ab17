// The scaled-down storm of issue 5: the real gridgate-load binary runs the
// real gridgate with a small memory budget, so that part of the load spills,
// and the report must show nothing lost and the ledger balanced. No timing is
// asserted (latency and RSS checks are off): speed belongs to `make storm`.

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "fakes/json_check.h"
#include "fakes/temp_dir.h"

namespace gridgate::load {
namespace {

using testing::JsonCheck;
using testing::JsonNode;

struct StormRun {
  int exit_code = -1;
  std::string output;
  std::optional<JsonNode> report;
};

// Runs `gridgate-load storm` with `flags` into `dir`; returns its exit code,
// output and report.json.
StormRun RunStorm(const std::string& dir, const std::string& flags) {
  StormRun run;
  const std::string cmd = std::string(GRIDGATE_LOAD_BINARY) + " storm --gridgate " +
                          GRIDGATE_BINARY + " --out " + dir + " " + flags + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) {
    return run;
  }
  char buf[4096];
  while (fgets(buf, sizeof(buf), p) != nullptr) {
    run.output += buf;
  }
  const int status = pclose(p);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(dir + "/report.json");
  std::stringstream text;
  text << in.rdbuf();
  std::string error;
  run.report = JsonCheck::Parse(text.str(), &error);
  return run;
}

uint64_t U(const JsonNode& root, std::string_view path) {
  const JsonNode* n = root.Find(path);
  EXPECT_NE(n, nullptr) << path;
  return n == nullptr ? 0 : std::stoull(n->text);
}

bool B(const JsonNode& root, std::string_view path) {
  const JsonNode* n = root.Find(path);
  EXPECT_NE(n, nullptr) << path;
  return n != nullptr && n->kind == JsonNode::Kind::kBool && n->boolean;
}

// A storm at 2,000 → 20,000 events/s for a few seconds against a 4 MiB
// budget and a sink capped at 10,000/s: tens of thousands queue and spill.
constexpr const char* kSmallStorm =
    "--baseline-eps 2000 --peak-eps 20000 --lead-s 1 --ramp-s 0.5 --hold-s 2 --decay-s 2 "
    "--budget-bytes 4194304 --gateway-set memory.slab_bytes=262144 "
    "--gateway-set memory.release_quiet_period_ms=500 --sink-cap-eps 10000 --quiet-s 1 "
    "--max-critical-p99-ms 0 --rss-slack-mib 0";

TEST(StormTest, AScaledDownStormSpillsAndLosesNothing) {
  testing::TempDir dir;
  const StormRun run = RunStorm(dir.path(), kSmallStorm);
  ASSERT_TRUE(run.report.has_value()) << run.output;
  const JsonNode& r = *run.report;
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_GT(U(r, "offered"), 50'000u);
  EXPECT_EQ(U(r, "accepted"), U(r, "offered"));
  EXPECT_EQ(U(r, "delivered"), U(r, "accepted"));
  EXPECT_EQ(U(r, "lost"), 0u);
  EXPECT_EQ(U(r, "unresolved"), 0u);
  EXPECT_TRUE(B(r, "ledger_balanced")) << run.output;
  EXPECT_GT(U(r, "spilled"), 0u) << "the budget is small enough to spill";
  EXPECT_EQ(U(r, "drained"), U(r, "spilled"));
  EXPECT_LE(U(r, "peak_buffer_bytes"), U(r, "budget_bytes"));
  EXPECT_EQ(U(r, "budget_bytes"), 4u << 20);
  EXPECT_GT(U(r, "latency_ms.critical.count"), 0u);
  EXPECT_GT(U(r, "latency_ms.canary.count"), 0u);
  EXPECT_EQ(U(r, "gateway_exit_code"), 0u);
  EXPECT_TRUE(B(r, "passed"));
  // The plot's data has a row per sample.
  std::ifstream tsv(dir.Sub("samples.tsv"));
  std::string header;
  std::getline(tsv, header);
  EXPECT_EQ(header.rfind("t_s\toffered_eps", 0), 0u) << header;
}

TEST(StormTest, ASinkOutageOverHttpLosesNothingEither) {
  testing::TempDir dir;
  const StormRun run = RunStorm(
      dir.path(),
      "--http --connections 2 --baseline-eps 1000 --peak-eps 5000 --lead-s 0.5 --ramp-s 0.5 "
      "--hold-s 2 --decay-s 1 --sink-fail-after-s 1 --sink-fail-for-s 1.5 --quiet-s 0 "
      "--max-critical-p99-ms 0 --rss-slack-mib 0 --expect-spill false");
  ASSERT_TRUE(run.report.has_value()) << run.output;
  const JsonNode& r = *run.report;
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_GT(U(r, "sink_failed_requests"), 0u) << "the outage happened";
  EXPECT_EQ(U(r, "accepted"), U(r, "offered"));
  EXPECT_EQ(U(r, "delivered"), U(r, "accepted"));
  EXPECT_EQ(U(r, "lost"), 0u);
  EXPECT_TRUE(B(r, "ledger_balanced"));
}

TEST(StormTest, AGatewayThatCannotStartIsAnError) {
  testing::TempDir dir;
  const StormRun run = RunStorm(dir.path(), "--gateway-set memory.budget_bytes=0");
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("gridgate exited with code 2"), std::string::npos) << run.output;
}

}  // namespace
}  // namespace gridgate::load
