// The /metrics exposition: the text format 0.0.4 checked line by line by a
// strict reader, Prometheus naming rules, and the figures of a real filter.

#include "admin/prometheus_text.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "admin/admin_scenario.h"
#include "fakes/temp_dir.h"

namespace gridgate::admin {
namespace {

// One exposition, read strictly. `problems` lists every way it breaks the
// format or our naming rules; `values` maps each series (name and labels as
// written in canonical form `name{a="x",b="y"}`, values unescaped) to its value.
struct Exposition {
  std::vector<std::string> problems;
  std::map<std::string, double> values;
  std::map<std::string, std::string> family_types;
};

bool ParseValue(const std::string& text, double* out) {
  if (text == "NaN") {
    *out = std::nan("");
    return true;
  }
  if (text == "+Inf" || text == "-Inf") {
    *out = text[0] == '+' ? INFINITY : -INFINITY;
    return true;
  }
  if (text.empty() || text.find_first_not_of("0123456789.eE+-") != std::string::npos) {
    return false;
  }
  char* end = nullptr;
  *out = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size();
}

// Reads `{a="x",b="y"}` at `line[*pos]` into canonical form; false when malformed.
bool ParseLabels(const std::string& line, size_t* pos, std::string* canonical,
                 std::set<std::string>* names) {
  static const std::regex kLabelName("[a-zA-Z_][a-zA-Z0-9_]*");
  ++*pos;  // '{'
  *canonical += '{';
  bool first = true;
  while (*pos < line.size() && line[*pos] != '}') {
    if (!first) {
      if (line[*pos] != ',') {
        return false;
      }
      ++*pos;
    }
    const size_t eq = line.find('=', *pos);
    if (eq == std::string::npos) {
      return false;
    }
    const std::string name = line.substr(*pos, eq - *pos);
    if (!std::regex_match(name, kLabelName) || name.rfind("__", 0) == 0 ||
        !names->insert(name).second) {
      return false;
    }
    *pos = eq + 1;
    if (*pos >= line.size() || line[*pos] != '"') {
      return false;
    }
    ++*pos;
    std::string value;
    while (true) {
      if (*pos >= line.size()) {
        return false;
      }
      const char c = line[(*pos)++];
      if (c == '"') {
        break;
      }
      if (c == '\\') {
        if (*pos >= line.size()) {
          return false;
        }
        const char e = line[(*pos)++];
        if (e == 'n') {
          value += '\n';
        } else if (e == '\\' || e == '"') {
          value += e;
        } else {
          return false;
        }
      } else {
        value += c;
      }
    }
    *canonical += (first ? "" : ",") + name + "=\"" + value + "\"";
    first = false;
  }
  if (*pos >= line.size()) {
    return false;
  }
  ++*pos;  // '}'
  *canonical += '}';
  return true;
}

Exposition Read(const std::string& text) {
  static const std::regex kName("^gridgate_[a-z0-9_]+$");
  Exposition e;
  auto problem = [&e](const std::string& line, const std::string& what) {
    e.problems.push_back(what + ": " + line);
  };
  if (text.empty() || text.back() != '\n') {
    e.problems.push_back("does not end with a newline");
  }
  std::set<std::string> announced;  // families with HELP
  std::string current;              // family whose samples may follow now
  std::set<std::string> closed;     // families whose samples are over
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# HELP ", 0) == 0) {
      const std::string rest = line.substr(7);
      const std::string name = rest.substr(0, rest.find(' '));
      if (!std::regex_match(name, kName)) {
        problem(line, "bad family name");
      }
      if (rest.size() <= name.size() + 1) {
        problem(line, "empty help");
      }
      if (!announced.insert(name).second) {
        problem(line, "family announced twice");
      }
      if (!current.empty()) {
        closed.insert(current);
      }
      current.clear();
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream words(line.substr(7));
      std::string name;
      std::string type;
      words >> name >> type;
      if (!announced.contains(name) || e.family_types.contains(name)) {
        problem(line, "TYPE without its HELP just before, or twice");
      }
      if (type != "counter" && type != "gauge" && type != "summary") {
        problem(line, "unexpected type");
      }
      const bool total = name.size() > 6 && name.ends_with("_total");
      if ((type == "counter") != total) {
        problem(line, "counters, and only counters, end in _total");
      }
      e.family_types[name] = type;
      current = name;
      continue;
    }
    if (line.empty() || line[0] == '#') {
      problem(line, "blank line or stray comment");
      continue;
    }
    // A sample: name, optional labels, one space, value, no timestamp.
    size_t pos = line.find_first_of("{ ");
    if (pos == std::string::npos) {
      problem(line, "no value");
      continue;
    }
    const std::string name = line.substr(0, pos);
    std::string series = name;
    std::set<std::string> label_names;
    if (line[pos] == '{' && !ParseLabels(line, &pos, &series, &label_names)) {
      problem(line, "malformed labels");
      continue;
    }
    if (pos >= line.size() || line[pos] != ' ') {
      problem(line, "no space before the value");
      continue;
    }
    double value = 0;
    if (!ParseValue(line.substr(pos + 1), &value)) {
      problem(line, "value is not a number");
    }
    if (!std::regex_match(name, kName)) {
      problem(line, "bad sample name");
    }
    std::string family = name;
    const auto type = e.family_types.find(current);
    if (type != e.family_types.end() && type->second == "summary" &&
        (name == current + "_sum" || name == current + "_count")) {
      family = current;
    }
    if (family != current || closed.contains(family)) {
      problem(line, "sample outside its family's HELP/TYPE block");
    }
    if (!e.values.emplace(series, value).second) {
      problem(line, "duplicate series");
    }
  }
  for (const std::string& name : announced) {
    if (!e.family_types.contains(name)) {
      e.problems.push_back("family without TYPE: " + name);
    }
  }
  return e;
}

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) {
    out += l + "\n";
  }
  return out;
}

TEST(ExpositionReaderTest, FindsEveryKindOfProblem) {
  const std::string good =
      "# HELP gridgate_a_total A.\n# TYPE gridgate_a_total counter\n"
      "gridgate_a_total{priority=\"low\",reason=\"x\\\"y\"} 3\n"
      "# HELP gridgate_b_seconds B.\n# TYPE gridgate_b_seconds summary\n"
      "gridgate_b_seconds_sum 1.5e-05\ngridgate_b_seconds_count 2\n";
  const Exposition ok = Read(good);
  EXPECT_TRUE(ok.problems.empty()) << Join(ok.problems);
  EXPECT_EQ(ok.values.at("gridgate_a_total{priority=\"low\",reason=\"x\"y\"}"), 3);

  const std::vector<std::string> bad = {
      "gridgate_x 1\n",                                                   // no HELP/TYPE
      "# HELP gridgate_x X.\n# TYPE gridgate_x counter\ngridgate_x 1\n",  // counter, no _total
      "# HELP gridgate_x_total X.\n# TYPE gridgate_x_total gauge\ngridgate_x_total 1\n",
      "# HELP gridgate_x X.\n# TYPE gridgate_x gauge\ngridgate_x{a=\"1\"} 1\ngridgate_x{a=\"1\"} "
      "2\n",
      "# HELP gridgate_x X.\n# TYPE gridgate_x gauge\ngridgate_x one\n",
      "# HELP gridgate_x X.\n# TYPE gridgate_x gauge\ngridgate_x 1 123 4\n",
      "# HELP gridgate_X X.\n# TYPE gridgate_X gauge\ngridgate_X 1\n",
      "# HELP other_x X.\n# TYPE other_x gauge\nother_x 1\n",
      "# HELP gridgate_x X.\n# TYPE gridgate_x gauge\ngridgate_x{a=\"1} 1\n",
      "# HELP gridgate_x X.\n# TYPE gridgate_x gauge\ngridgate_x{a=\"\\t\"} 1\n",
      "# HELP gridgate_x X.\n# TYPE gridgate_x gauge\ngridgate_x{a=\"1\",a=\"2\"} 1\n",
      "# HELP gridgate_x X.\n# TYPE gridgate_x gauge\ngridgate_x 1",      // no final newline
      "# HELP gridgate_x X.\n# TYPE gridgate_x gauge\n\ngridgate_x 1\n",  // blank line
      "# HELP gridgate_x X.\ngridgate_x 1\n",                             // no TYPE
      "# HELP gridgate_x X.\n# TYPE gridgate_x gauge\ngridgate_x 1\n"
      "# HELP gridgate_y Y.\n# TYPE gridgate_y gauge\ngridgate_x 2\n",      // not grouped
      "# HELP gridgate_x X.\n# TYPE gridgate_x gauge\ngridgate_x_sum 1\n",  // _sum of a gauge
  };
  for (const std::string& text : bad) {
    EXPECT_FALSE(Read(text).problems.empty()) << text;
  }
}

class PrometheusTextTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(scenario_.Run().ok()); }

  gridgate::testing::TempDir dir_;
  testing::AdminScenario scenario_{dir_.path()};
};

TEST_F(PrometheusTextTest, EverySeriesIsWellFormedAndNamedByTheConventions) {
  const std::string text = RenderPrometheus(scenario_.Snapshot());
  const Exposition e = Read(text);
  EXPECT_TRUE(e.problems.empty()) << Join(e.problems) << "\n" << text;
  EXPECT_GE(e.family_types.size(), 40u);
  // Base units only, and none of the abbreviations promtool rejects.
  const std::set<std::string> kNotBaseUnits = {"ms", "milliseconds", "us", "ns", "s", "sec", "b",
                                               "kb", "mb",           "gb", "m",  "h", "d"};
  for (const auto& [name, type] : e.family_types) {
    std::istringstream tokens(name);
    for (std::string token; std::getline(tokens, token, '_');) {
      EXPECT_FALSE(kNotBaseUnits.contains(token)) << name;
    }
  }
  EXPECT_EQ(RenderPrometheus(scenario_.Snapshot()), text);
}

TEST_F(PrometheusTextTest, SeriesCarryTheFiltersFigures) {
  const GatewaySnapshot snap = scenario_.Snapshot();
  const filter::FilterStats& s = snap.filter;
  ASSERT_EQ(s.state, filter::FilterState::kSpilling);
  const Exposition e = Read(RenderPrometheus(snap));
  ASSERT_TRUE(e.problems.empty()) << Join(e.problems);
  auto v = [&e](const std::string& series) {
    const auto it = e.values.find(series);
    EXPECT_NE(it, e.values.end()) << series;
    return it == e.values.end() ? std::nan("") : it->second;
  };

  EXPECT_EQ(v("gridgate_filter_state{state=\"spilling\"}"), 1);
  EXPECT_EQ(v("gridgate_filter_state{state=\"normal\"}"), 0);
  EXPECT_EQ(v("gridgate_filter_state{state=\"pressured\"}"), 0);
  EXPECT_EQ(v("gridgate_filter_state{state=\"draining\"}"), 0);
  EXPECT_EQ(e.family_types.at("gridgate_filter_state"), "gauge");

  EXPECT_EQ(v("gridgate_build_info{version=\"" + snap.version + "\"}"), 1);
  EXPECT_EQ(v("gridgate_memory_budget_bytes"), 64 * 1024);
  EXPECT_EQ(v("gridgate_memory_used_bytes"), s.used_bytes);
  EXPECT_GE(s.peak_used_bytes, s.used_bytes);
  EXPECT_EQ(v("gridgate_memory_peak_used_bytes"), s.peak_used_bytes);
  EXPECT_EQ(v("gridgate_memory_mapped_bytes"), s.mapped_bytes);
  EXPECT_DOUBLE_EQ(v("gridgate_memory_utilisation_ratio"), s.used_bytes / 65536.0);
  EXPECT_EQ(v("gridgate_memory_high_watermark_bytes"), s.high_watermark_bytes);
  EXPECT_EQ(v("gridgate_memory_reserve_bytes{priority=\"critical\"}"), s.critical_reserve_bytes);

  for (Priority p : kAllPriorities) {
    const filter::LevelStats& l = s.levels[LevelIndex(p)];
    const std::string label = std::string("{priority=\"") + std::string(PriorityName(p)) + "\"}";
    EXPECT_EQ(v("gridgate_events_queued" + label), l.queued_events) << label;
    EXPECT_EQ(v("gridgate_events_queued_bytes" + label), l.queued_bytes) << label;
    EXPECT_EQ(v("gridgate_events_in_flight" + label), l.in_flight_events) << label;
    EXPECT_EQ(v("gridgate_events_on_disk" + label), l.on_disk_events) << label;
    EXPECT_EQ(v("gridgate_events_accepted_total" + label), l.accepted) << label;
    EXPECT_EQ(v("gridgate_events_delivered_total" + label), l.delivered) << label;
    EXPECT_EQ(v("gridgate_events_returned_total" + label), l.returned) << label;
    EXPECT_EQ(v("gridgate_events_refused_by_priority_total" + label), l.refused) << label;
    EXPECT_EQ(v("gridgate_events_spilled_total" + label), l.spilled) << label;
    EXPECT_DOUBLE_EQ(v("gridgate_oldest_queued_age_seconds" + label),
                     l.oldest_queued_age_ms / 1000.0)
        << label;
  }
  EXPECT_GT(v("gridgate_events_on_disk{priority=\"normal\"}"), 0);
  EXPECT_DOUBLE_EQ(v("gridgate_oldest_queued_age_seconds{priority=\"normal\"}"), 1.5);
  EXPECT_EQ(v("gridgate_events_delivered_total{priority=\"critical\"}"),
            testing::AdminScenario::kCritical);

  EXPECT_EQ(v("gridgate_events_refused_total{reason=\"too_large\"}"),
            testing::AdminScenario::kTooLarge);
  EXPECT_EQ(v("gridgate_events_refused_total{reason=\"disk_full\"}"), 0);
  EXPECT_EQ(e.values.count("gridgate_events_refused_total{reason=\"none\"}"), 0u);
  EXPECT_EQ(v("gridgate_ledger_balanced"), 1);

  EXPECT_EQ(v("gridgate_spill_enabled"), 1);
  EXPECT_EQ(v("gridgate_spill_disk_used_bytes"), s.spill.disk_bytes_used);
  EXPECT_EQ(v("gridgate_spill_segments{state=\"live\"}"), s.spill.segments_live);
  EXPECT_EQ(e.family_types.at("gridgate_spill_fsync_duration_seconds"), "summary");
  EXPECT_GT(s.spill.fsyncs, 0u);
  EXPECT_EQ(v("gridgate_spill_fsync_duration_seconds_count"), s.spill.fsyncs);
  EXPECT_DOUBLE_EQ(v("gridgate_spill_fsync_duration_seconds_sum"), s.spill.fsync_ns_total / 1e9);
  EXPECT_DOUBLE_EQ(v("gridgate_spill_fsync_duration_max_seconds"), s.spill.fsync_ns_max / 1e9);

  // Latency is known for the critical level only.
  EXPECT_DOUBLE_EQ(v("gridgate_delivery_latency_p50_seconds{priority=\"critical\"}"), 0.0015);
  EXPECT_DOUBLE_EQ(v("gridgate_delivery_latency_p99_seconds{priority=\"critical\"}"), 0.01225);
  EXPECT_EQ(e.values.count("gridgate_delivery_latency_p50_seconds{priority=\"high\"}"), 0u);

  EXPECT_DOUBLE_EQ(v("gridgate_ingest_events_per_second"), 1234.5);
  EXPECT_EQ(v("gridgate_backlog_events"), s.Queued() + s.OnDisk());
  EXPECT_DOUBLE_EQ(v("gridgate_backlog_drain_estimate_seconds"),
                   static_cast<double>(s.Queued() + s.OnDisk()) / 50);
}

TEST_F(PrometheusTextTest, AnUnbalancedLedgerSaysZero) {
  GatewaySnapshot snap = scenario_.Snapshot();
  ++snap.filter.levels[LevelIndex(Priority::kLow)].accepted;
  const Exposition e = Read(RenderPrometheus(snap));
  EXPECT_EQ(e.values.at("gridgate_ledger_balanced"), 0);
}

TEST(PrometheusTextEmptyTest, UnknownFiguresHaveNoSampleAndLabelValuesAreEscaped) {
  GatewaySnapshot snap;
  snap.version = "a\\b\"c\nd";
  snap.filter.levels[LevelIndex(Priority::kLow)].queued_events = 10;  // backlog, rate 0
  snap.ingest_events_per_second = std::numeric_limits<double>::quiet_NaN();
  const std::string text = RenderPrometheus(snap);
  EXPECT_NE(text.find("gridgate_build_info{version=\"a\\\\b\\\"c\\nd\"} 1\n"), std::string::npos)
      << text;
  const Exposition e = Read(text);
  // The ledger is off (10 queued, none accepted) but the format is not.
  EXPECT_TRUE(e.problems.empty()) << Join(e.problems) << "\n" << text;
  EXPECT_EQ(e.values.at("gridgate_build_info{version=\"" + snap.version + "\"}"), 1);
  EXPECT_EQ(e.family_types.count("gridgate_memory_utilisation_ratio"), 0u);  // zero budget
  EXPECT_EQ(e.family_types.count("gridgate_delivery_latency_p50_seconds"), 0u);
  EXPECT_EQ(e.family_types.count("gridgate_backlog_drain_estimate_seconds"), 0u);
  EXPECT_TRUE(std::isnan(e.values.at("gridgate_ingest_events_per_second")));
  EXPECT_EQ(e.values.at("gridgate_filter_state{state=\"normal\"}"), 1);
}

}  // namespace
}  // namespace gridgate::admin
