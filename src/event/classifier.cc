#include "event/classifier.h"

#include <initializer_list>
#include <utility>

namespace gridgate::event {
namespace {

struct DefaultRow {
  std::string_view type;
  Priority priority;
  std::initializer_list<std::string_view> cim_codes;
};

// ../shared/EVENTS.md, "Default priorities": keep the two in step.
const DefaultRow kDefaultTable[] = {
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
    // Readings carry a CIM ReadingType, not an EndDeviceEventType.
    {"interval_reading", Priority::kLow, {}},
    {"register_read", Priority::kLow, {}},
    {"voltage_reading", Priority::kLow, {}},
};

Status CheckTypeName(std::string_view what, std::string_view type) {
  if (type.empty() || Utf8Chars(type) > kMaxTypeChars) {
    return Status::InvalidArgument(std::string(what) + ": type '" + std::string(type) +
                                   "' must be 1 to " + std::to_string(kMaxTypeChars) +
                                   " characters");
  }
  return Status::Ok();
}

Status CheckCodeMap(std::string_view what, const StringMap<std::string>& map,
                    const StringMap<Priority>& types) {
  for (const auto& [code, type] : map) {
    if (!types.contains(type)) {
      return Status::InvalidArgument(std::string(what) + ": '" + code + "' maps to type '" + type +
                                     "', which has no priority");
    }
  }
  return Status::Ok();
}

}  // namespace

ClassifierRules ClassifierRules::Default() {
  ClassifierRules rules;
  for (const DefaultRow& row : kDefaultTable) {
    rules.type_priority.emplace(row.type, row.priority);
    for (std::string_view code : row.cim_codes) {
      rules.cim_code_type.emplace(code, row.type);
    }
  }
  return rules;
}

Result<std::unique_ptr<Classifier>> Classifier::Create(ClassifierRules rules) {
  for (const auto& [type, priority] : rules.type_priority) {
    if (Status s = CheckTypeName("type_priority", type); !s.ok()) {
      return s;
    }
    if (!IsValidPriority(static_cast<uint8_t>(priority))) {
      return Status::InvalidArgument("type_priority: '" + type + "' has an invalid priority");
    }
  }
  if (Status s = CheckCodeMap("cim_code_type", rules.cim_code_type, rules.type_priority); !s.ok()) {
    return s;
  }
  if (Status s = CheckCodeMap("vendor_code_type", rules.vendor_code_type, rules.type_priority);
      !s.ok()) {
    return s;
  }
  return std::unique_ptr<Classifier>(new Classifier(std::move(rules)));
}

std::optional<Priority> Classifier::TypePriority(std::string_view type) const {
  if (type.empty()) {
    return std::nullopt;
  }
  const auto it = rules_.type_priority.find(type);
  if (it == rules_.type_priority.end()) {
    return std::nullopt;
  }
  return it->second;
}

Classification Classifier::Classify(std::string_view source, std::string_view type,
                                    std::string_view cim_code, std::string_view vendor_code,
                                    std::optional<Priority> sender_priority) {
  Classification c;
  std::optional<Priority> by_type = TypePriority(type);
  if (by_type.has_value()) {
    c.basis = Basis::kType;
  } else {
    auto resolve = [this](const StringMap<std::string>& map,
                          std::string_view code) -> std::optional<Priority> {
      if (code.empty()) {
        return std::nullopt;
      }
      const auto it = map.find(code);
      return it == map.end() ? std::nullopt : TypePriority(it->second);
    };
    if ((by_type = resolve(rules_.cim_code_type, cim_code)).has_value()) {
      c.basis = Basis::kCimCode;
    } else if ((by_type = resolve(rules_.vendor_code_type, vendor_code)).has_value()) {
      c.basis = Basis::kVendorCode;
    }
  }
  c.type_known = by_type.has_value();
  c.priority = by_type.value_or(Priority::kNormal);
  if (sender_priority.has_value() && IsValidPriority(static_cast<uint8_t>(*sender_priority)) &&
      !source.empty() && rules_.trusted_sources.contains(source)) {
    c.priority = *sender_priority;
    c.basis = Basis::kSenderPriority;
  }
  if (!c.type_known) {
    unknown_types_.fetch_add(1, std::memory_order_relaxed);
  }
  classified_[LevelIndex(c.priority)].fetch_add(1, std::memory_order_relaxed);
  return c;
}

}  // namespace gridgate::event
