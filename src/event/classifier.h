#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "common/result.h"
#include "event/json_decoder.h"
#include "event/priority.h"

namespace gridgate::event {

// Hash for heterogeneous lookup by std::string_view in the rule maps.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;
using StringSet = std::unordered_set<std::string, StringHash, std::equal_to<>>;

// The classification rules: event type → priority, and what can stand in for a
// type. A plain value; Default() is the table of ../shared/EVENTS.md, which the
// configuration edits (change a row, add types, map codes, trust sources).
struct ClassifierRules {
  // type → priority. A type not in here is unknown (normal, and counted).
  StringMap<Priority> type_priority;
  // cim_code → type, and vendor_code → type: used when `type` itself is
  // unknown. Every target must be a key of type_priority.
  StringMap<std::string> cim_code_type;
  StringMap<std::string> vendor_code_type;
  // Sources whose own `priority` field is honoured.
  StringSet trusted_sources;

  // Every row of EVENTS.md's default table, with its CIM codes mapped to the
  // row's type. No vendor codes, no trusted sources.
  static ClassifierRules Default();
};

// How the priority of an event was decided.
enum class Basis : uint8_t {
  kType,            // the event's type is in the table
  kCimCode,         // type unknown, its cim_code maps to a known type
  kVendorCode,      // type unknown, its vendor_code maps to a known type
  kSenderPriority,  // a trusted source's own priority field
  kUnknown,         // none of these: normal
};

struct Classification {
  Priority priority = Priority::kNormal;
  // True when the type was resolved: from `type`, cim_code or vendor_code.
  bool type_known = false;
  Basis basis = Basis::kUnknown;
};

// Maps events to priorities by the rules. Thread-safe: the rules are fixed at
// Create, and the counters are relaxed atomics (they share a cache line, so
// very hot paths may prefer one Classifier per thread and sum the counts).
class Classifier {
 public:
  // InvalidArgument naming the rule when a code maps to a type that is not in
  // type_priority, or a type name is empty or longer than kMaxTypeChars.
  static Result<std::unique_ptr<Classifier>> Create(ClassifierRules rules);

  // Decides the priority. Order: a trusted source's own priority wins; then
  // the type; then, for an unknown type, cim_code, then vendor_code; else
  // normal, counted as unknown. type_known is reported whatever the basis, and
  // an unresolved type is counted even when the sender's priority is used.
  // Does not allocate.
  Classification Classify(std::string_view source, std::string_view type, std::string_view cim_code,
                          std::string_view vendor_code, std::optional<Priority> sender_priority);
  Classification Classify(const DecodedEvent& e) {
    return Classify(e.source, e.type, e.cim_code, e.vendor_code, e.priority);
  }

  // Events classified at priority `p`, and events whose type was unknown.
  uint64_t classified(Priority p) const {
    return classified_[LevelIndex(p)].load(std::memory_order_relaxed);
  }
  uint64_t unknown_types() const { return unknown_types_.load(std::memory_order_relaxed); }

  const ClassifierRules& rules() const { return rules_; }

 private:
  explicit Classifier(ClassifierRules rules) : rules_(std::move(rules)) {}

  // The priority of `type` when it is in the table.
  std::optional<Priority> TypePriority(std::string_view type) const;

  const ClassifierRules rules_;
  std::array<std::atomic<uint64_t>, kNumPriorities> classified_{};
  std::atomic<uint64_t> unknown_types_{0};
};

}  // namespace gridgate::event
