#include "event/classifier.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "event/json_decoder.h"

namespace gridgate::event {
namespace {

struct Row {
  std::string_view type;
  Priority priority;
  std::vector<std::string_view> cim_codes;
};

// Copied by hand from ../shared/EVENTS.md, "Default priorities", independently
// of classifier.cc: a typo in either shows here.
const std::vector<Row>& EventsMdTable() {
  static const std::vector<Row> rows = {
      {"last_gasp", Priority::kCritical, {"3.26.136.47", "3.26.136.66"}},
      {"power_down", Priority::kCritical, {"3.26.0.47", "0.26.38.47"}},
      {"over_voltage", Priority::kCritical, {"3.26.38.93"}},
      {"load_side_voltage_when_disconnected", Priority::kCritical, {"3.31.1.143"}},
      {"high_temperature", Priority::kCritical, {"3.35.0.40"}},
      {"power_restored", Priority::kHigh, {"3.26.0.216", "3.26.136.216", "0.26.38.49"}},
      {"phase_loss", Priority::kHigh, {"1.26.25.85"}},
      {"voltage_swell", Priority::kHigh, {"3.21.38.248", "1.26.79.248"}},
      {"under_voltage", Priority::kHigh, {"3.26.38.150"}},
      {"meter_cover_removed", Priority::kHigh, {"0.12.29.39"}},
      {"terminal_cover_removed", Priority::kHigh, {"0.12.128.39"}},
      {"tamper_suspected", Priority::kHigh, {"3.12.0.257", "0.12.43.257"}},
      {"magnetic_tamper", Priority::kHigh, {"0.12.66.242"}},
      {"reverse_rotation", Priority::kHigh, {"3.12.93.219"}},
      {"remote_disconnect", Priority::kHigh, {"0.31.0.68"}},
      {"remote_connect", Priority::kHigh, {"0.31.0.42"}},
      {"voltage_sag", Priority::kNormal, {"3.21.38.223", "1.26.79.223"}},
      {"voltage_normal", Priority::kNormal, {"3.26.38.37", "3.26.38.73"}},
      {"reverse_energy_flow", Priority::kNormal, {"3.12.48.219", "0.12.48.219"}},
      {"meter_reboot", Priority::kNormal, {"0.11.3.215"}},
      {"clock_error", Priority::kNormal, {"3.36.0.79", "0.36.43.35"}},
      {"low_battery", Priority::kNormal, {"3.2.22.150", "0.2.22.150"}},
      {"hardware_error", Priority::kNormal, {"3.18.72.79", "3.18.85.79"}},
      {"config_changed", Priority::kNormal, {"0.7.31.13"}},
      {"failed_login", Priority::kNormal, {"0.12.24.7"}},
      {"event_log_cleared", Priority::kNormal, {"0.17.44.28"}},
      {"time_adjusted", Priority::kLow, {"0.36.114.24"}},
      {"firmware_activated", Priority::kLow, {"0.11.31.4"}},
      {"demand_reset", Priority::kLow, {"3.8.0.215"}},
      {"interval_reading", Priority::kLow, {}},
      {"register_read", Priority::kLow, {}},
      {"voltage_reading", Priority::kLow, {}},
  };
  return rows;
}

std::unique_ptr<Classifier> Make(ClassifierRules rules) {
  auto c = Classifier::Create(std::move(rules));
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? std::move(c.value()) : nullptr;
}

Classification ByType(Classifier& c, std::string_view type) {
  return c.Classify("hes-1", type, "", "", std::nullopt);
}

TEST(ClassifierTest, DefaultTableIsEveryRowOfEventsMd) {
  const ClassifierRules rules = ClassifierRules::Default();
  size_t codes = 0;
  for (const Row& row : EventsMdTable()) {
    codes += row.cim_codes.size();
  }
  EXPECT_EQ(rules.type_priority.size(), EventsMdTable().size());
  EXPECT_EQ(EventsMdTable().size(), 32u);
  EXPECT_EQ(rules.cim_code_type.size(), codes);
  EXPECT_TRUE(rules.vendor_code_type.empty());
  EXPECT_TRUE(rules.trusted_sources.empty());
}

TEST(ClassifierTest, EveryDefaultRowByType) {
  auto c = Make(ClassifierRules::Default());
  for (const Row& row : EventsMdTable()) {
    const Classification got = ByType(*c, row.type);
    EXPECT_EQ(got.priority, row.priority) << row.type;
    EXPECT_TRUE(got.type_known) << row.type;
    EXPECT_EQ(got.basis, Basis::kType) << row.type;
  }
  EXPECT_EQ(c->unknown_types(), 0u);
  EXPECT_EQ(c->classified(Priority::kCritical), 5u);
  EXPECT_EQ(c->classified(Priority::kHigh), 11u);
  EXPECT_EQ(c->classified(Priority::kNormal), 10u);
  EXPECT_EQ(c->classified(Priority::kLow), 6u);
}

TEST(ClassifierTest, EveryDefaultCimCodeStandsInForAnUnknownType) {
  auto c = Make(ClassifierRules::Default());
  for (const Row& row : EventsMdTable()) {
    for (std::string_view code : row.cim_codes) {
      const Classification got =
          c->Classify("hes-1", "vendor_specific_name", code, "", std::nullopt);
      EXPECT_EQ(got.priority, row.priority) << code;
      EXPECT_TRUE(got.type_known) << code;
      EXPECT_EQ(got.basis, Basis::kCimCode) << code;
    }
  }
  EXPECT_EQ(c->unknown_types(), 0u);
}

TEST(ClassifierTest, UnknownTypeIsNormalAndCounted) {
  auto c = Make(ClassifierRules::Default());
  const Classification got = c->Classify("hes-1", "solar_flare", "9.9.9.9", "x:1", std::nullopt);
  EXPECT_EQ(got.priority, Priority::kNormal);
  EXPECT_FALSE(got.type_known);
  EXPECT_EQ(got.basis, Basis::kUnknown);
  // Case matters: "Last_Gasp" is not last_gasp.
  EXPECT_FALSE(ByType(*c, "Last_Gasp").type_known);
  EXPECT_EQ(c->unknown_types(), 2u);
  EXPECT_EQ(c->classified(Priority::kNormal), 2u);
  EXPECT_EQ(c->classified(Priority::kCritical), 0u);
}

TEST(ClassifierTest, KnownTypeWinsOverItsCodes) {
  auto c = Make(ClassifierRules::Default());
  // A low type with a critical CIM code: the type decides.
  const Classification got = c->Classify("hes-1", "demand_reset", "3.26.136.47", "", std::nullopt);
  EXPECT_EQ(got.priority, Priority::kLow);
  EXPECT_EQ(got.basis, Basis::kType);
}

TEST(ClassifierTest, VendorCodeMapsWhenTypeAndCimCodeDoNot) {
  ClassifierRules rules = ClassifierRules::Default();
  rules.vendor_code_type["dlms:std:1"] = "power_down";
  rules.vendor_code_type["c1219:std:2"] = "power_restored";
  auto c = Make(std::move(rules));
  Classification got = c->Classify("hes-1", "evt1", "", "dlms:std:1", std::nullopt);
  EXPECT_EQ(got.priority, Priority::kCritical);
  EXPECT_EQ(got.basis, Basis::kVendorCode);
  EXPECT_TRUE(got.type_known);
  // cim_code is tried first.
  got = c->Classify("hes-1", "evt1", "0.12.29.39", "dlms:std:1", std::nullopt);
  EXPECT_EQ(got.priority, Priority::kHigh);
  EXPECT_EQ(got.basis, Basis::kCimCode);
  // An unmapped cim_code falls through to the vendor code.
  got = c->Classify("hes-1", "evt1", "7.7.7.7", "c1219:std:2", std::nullopt);
  EXPECT_EQ(got.priority, Priority::kHigh);
  EXPECT_EQ(got.basis, Basis::kVendorCode);
}

TEST(ClassifierTest, RulesCanChangeAndAddRows) {
  ClassifierRules rules = ClassifierRules::Default();
  rules.type_priority["over_voltage"] = Priority::kHigh;
  rules.type_priority["transformer_overload"] = Priority::kCritical;
  rules.cim_code_type["3.26.38.93"] = "transformer_overload";
  auto c = Make(std::move(rules));
  EXPECT_EQ(ByType(*c, "over_voltage").priority, Priority::kHigh);
  EXPECT_EQ(ByType(*c, "transformer_overload").priority, Priority::kCritical);
  const Classification got = c->Classify("hes-1", "ov", "3.26.38.93", "", std::nullopt);
  EXPECT_EQ(got.priority, Priority::kCritical);
  EXPECT_EQ(ByType(*c, "last_gasp").priority, Priority::kCritical);  // the rest unchanged
}

TEST(ClassifierTest, SenderPriorityOnlyFromTrustedSources) {
  ClassifierRules rules = ClassifierRules::Default();
  rules.trusted_sources.insert("hes-trusted");
  auto c = Make(std::move(rules));

  Classification got = c->Classify("hes-trusted", "interval_reading", "", "", Priority::kCritical);
  EXPECT_EQ(got.priority, Priority::kCritical);
  EXPECT_EQ(got.basis, Basis::kSenderPriority);
  EXPECT_TRUE(got.type_known);

  // A trusted source may also lower a priority.
  got = c->Classify("hes-trusted", "last_gasp", "", "", Priority::kLow);
  EXPECT_EQ(got.priority, Priority::kLow);

  // Untrusted: its priority field is ignored.
  got = c->Classify("hes-other", "interval_reading", "", "", Priority::kCritical);
  EXPECT_EQ(got.priority, Priority::kLow);
  EXPECT_EQ(got.basis, Basis::kType);

  // Trusted without a priority field: by type.
  got = c->Classify("hes-trusted", "last_gasp", "", "", std::nullopt);
  EXPECT_EQ(got.priority, Priority::kCritical);
  EXPECT_EQ(got.basis, Basis::kType);

  // Trusted with an unknown type: its priority is used, and the type still
  // counts as unknown.
  got = c->Classify("hes-trusted", "mystery", "", "", Priority::kHigh);
  EXPECT_EQ(got.priority, Priority::kHigh);
  EXPECT_FALSE(got.type_known);
  EXPECT_EQ(c->unknown_types(), 1u);
}

TEST(ClassifierTest, CreateRefusesBrokenRules) {
  ClassifierRules rules = ClassifierRules::Default();
  rules.cim_code_type["1.1.1.1"] = "no_such_type";
  auto c = Classifier::Create(rules);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(c.status().message().find("no_such_type"), std::string::npos);

  rules = ClassifierRules::Default();
  rules.vendor_code_type["dlms:std:1"] = "nope";
  EXPECT_FALSE(Classifier::Create(rules).ok());

  rules = ClassifierRules::Default();
  rules.type_priority[""] = Priority::kHigh;
  EXPECT_FALSE(Classifier::Create(rules).ok());

  rules = ClassifierRules::Default();
  rules.type_priority[std::string(41, 't')] = Priority::kHigh;
  EXPECT_FALSE(Classifier::Create(rules).ok());
  rules.type_priority.erase(std::string(41, 't'));
  rules.type_priority[std::string(40, 't')] = Priority::kHigh;
  EXPECT_TRUE(Classifier::Create(rules).ok());
}

TEST(ClassifierTest, ClassifiesDecodedEvents) {
  auto decoder = Decoder::Create(DecodeOptions{});
  ASSERT_TRUE(decoder.ok());
  ClassifierRules rules = ClassifierRules::Default();
  rules.trusted_sources.insert("hes-east-01");
  auto c = Make(std::move(rules));
  const std::string body =
      R"({"source":"hes-east-01","meter_id":"M1","type":"register_read","priority":"high",)"
      R"("device_time":"2026-07-08T14:03:40Z"})"
      "\n"
      R"({"source":"hes-west","meter_id":"M2","type":"x","cim_code":"3.26.136.47",)"
      R"("priority":"low","device_time":"2026-07-08T14:03:40Z"})";
  std::vector<DecodedEvent> events;
  std::vector<EventError> errors;
  ASSERT_TRUE((*decoder)->DecodeBatch(body, BodyFormat::kNdjson, &events, &errors).ok());
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(c->Classify(events[0]).priority, Priority::kHigh);
  EXPECT_EQ(c->Classify(events[1]).priority, Priority::kCritical);
}

// Counters from many threads (run under TSan by the tsan preset).
TEST(ClassifierTest, CountersAddUpAcrossThreads) {
  auto c = Make(ClassifierRules::Default());
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&c] {
      for (int i = 0; i < kPerThread; ++i) {
        (void)ByType(*c, i % 2 == 0 ? "last_gasp" : "unknown_thing");
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(c->classified(Priority::kCritical), uint64_t{kThreads} * kPerThread / 2);
  EXPECT_EQ(c->classified(Priority::kNormal), uint64_t{kThreads} * kPerThread / 2);
  EXPECT_EQ(c->unknown_types(), uint64_t{kThreads} * kPerThread / 2);
}

}  // namespace
}  // namespace gridgate::event
