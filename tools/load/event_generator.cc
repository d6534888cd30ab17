#include "tools/load/event_generator.h"

#include <charconv>
#include <climits>
#include <cmath>
#include <cstdio>
#include <string_view>
#include <vector>

#include "sink/common/delivered_format.h"

namespace gridgate::load {
namespace {

uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// What an event carries besides the common fields.
enum class Shape {
  kBare,     // an alarm with nothing measured: last gasp, reboot
  kVoltage,  // a measured value, phase, duration and the network location
  kOutage,   // restoration: the outage's duration and the location
  kReading,  // an interval reading or register read: ReadingType, quality, location
};

struct TypeSpec {
  std::string_view type;
  std::string_view cim_code;
  Shape shape;
  uint32_t weight;  // within its priority
};

// The types a storm is made of, per priority (EVENTS.md's table, weighted
// towards what a restoration flush holds).
const std::vector<TypeSpec>& TypesOf(Priority p) {
  static const std::vector<TypeSpec> critical = {
      {"last_gasp", "3.26.136.47", Shape::kBare, 45},
      {"power_down", "3.26.0.47", Shape::kBare, 30},
      {"over_voltage", "3.26.38.93", Shape::kVoltage, 20},
      {"high_temperature", "3.35.0.40", Shape::kVoltage, 5},
  };
  static const std::vector<TypeSpec> high = {
      {"power_restored", "3.26.136.216", Shape::kOutage, 85},
      {"under_voltage", "3.26.38.150", Shape::kVoltage, 10},
      {"phase_loss", "1.26.25.85", Shape::kVoltage, 5},
  };
  static const std::vector<TypeSpec> normal = {
      {"voltage_normal", "3.26.38.37", Shape::kVoltage, 40},
      {"meter_reboot", "0.11.3.215", Shape::kBare, 35},
      {"clock_error", "3.36.0.79", Shape::kBare, 25},
  };
  static const std::vector<TypeSpec> low = {
      {"interval_reading", "", Shape::kReading, 70},
      {"register_read", "", Shape::kReading, 20},
      {"voltage_reading", "", Shape::kReading, 10},
  };
  switch (p) {
    case Priority::kCritical:
      return critical;
    case Priority::kHigh:
      return high;
    case Priority::kNormal:
      return normal;
    case Priority::kLow:
      return low;
  }
  return low;
}

const TypeSpec& PickType(Priority p, uint64_t r) {
  const std::vector<TypeSpec>& types = TypesOf(p);
  uint32_t total = 0;
  for (const TypeSpec& t : types) {
    total += t.weight;
  }
  uint32_t x = static_cast<uint32_t>(r % total);
  for (const TypeSpec& t : types) {
    if (x < t.weight) {
      return t;
    }
    x -= t.weight;
  }
  return types.back();
}

void AppendUint(uint64_t v, std::string* out) {
  char buf[20];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, end);
}

void AppendPadded(uint64_t v, int digits, std::string* out) {
  char buf[20];
  for (int i = digits - 1; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  out->append(buf, static_cast<size_t>(digits));
}

// "123.4" from tenths.
void AppendTenths(uint64_t tenths, std::string* out) {
  AppendUint(tenths / 10, out);
  out->push_back('.');
  out->push_back(static_cast<char>('0' + tenths % 10));
}

// The quoted RFC 3339 time of `unix_us` (milliseconds). The date part is
// remembered per thread: a storm's events fall on one or two days, and the
// civil-date arithmetic was the sender's largest cost (perf: 8% of
// gridgate-load during the storm's hold).
void AppendTime(int64_t unix_us, std::string* out) {
  constexpr int64_t kMsPerDay = 86'400'000;
  struct DayCache {
    int64_t day = INT64_MIN;
    std::string prefix;  // "2026-12-04T"
  };
  thread_local DayCache cache;
  int64_t ms = unix_us / 1000;
  if (unix_us % 1000 < 0) {
    --ms;
  }
  int64_t day = ms / kMsPerDay;
  int64_t ms_of_day = ms % kMsPerDay;
  if (ms_of_day < 0) {
    ms_of_day += kMsPerDay;
    --day;
  }
  if (day != cache.day) {
    cache.prefix.clear();
    sink::AppendRfc3339Millis(day * kMsPerDay * 1'000'000, &cache.prefix);
    cache.prefix.resize(11);  // up to and including the 'T'
    cache.day = day;
  }
  char buf[16] = {'"'};
  const int64_t parts[] = {ms_of_day / 3'600'000, ms_of_day / 60'000 % 60, ms_of_day / 1000 % 60};
  out->push_back('"');
  out->append(cache.prefix);
  for (int i = 0; i < 3; ++i) {
    buf[3 * i] = static_cast<char>('0' + parts[i] / 10);
    buf[3 * i + 1] = static_cast<char>('0' + parts[i] % 10);
    buf[3 * i + 2] = i < 2 ? ':' : '.';
  }
  const int64_t millis = ms_of_day % 1000;
  buf[9] = static_cast<char>('0' + millis / 100);
  buf[10] = static_cast<char>('0' + millis / 10 % 10);
  buf[11] = static_cast<char>('0' + millis % 10);
  buf[12] = 'Z';
  buf[13] = '"';
  out->append(buf, 14);
}

constexpr std::string_view kPhases[] = {"A", "B", "C", "ABC"};

}  // namespace

Mix Mix::Storm() { return Mix{{0.007, 0.17, 0.255, 0.568}}; }

Mix Mix::Everyday() { return Mix{{0.0005, 0.003, 0.0065, 0.99}}; }

Result<Mix> Mix::Parse(std::string_view text) {
  Mix mix;
  size_t i = 0;
  for (size_t level = 0; level < kNumPriorities; ++level) {
    const size_t comma = text.find(',', i);
    const std::string part(text.substr(i, comma == std::string_view::npos ? text.npos : comma - i));
    char* end = nullptr;
    mix.share[level] = std::strtod(part.c_str(), &end);
    if (part.empty() || end != part.c_str() + part.size()) {
      return Status::InvalidArgument("mix: '" + std::string(text) +
                                     "' is not four numbers c,h,n,l");
    }
    if ((comma == std::string_view::npos) != (level + 1 == kNumPriorities)) {
      return Status::InvalidArgument("mix: '" + std::string(text) +
                                     "' is not four numbers c,h,n,l");
    }
    i = comma + 1;
  }
  if (Status s = mix.Validate(); !s.ok()) {
    return s;
  }
  return mix;
}

Status Mix::Validate() const {
  double sum = 0;
  for (double s : share) {
    if (!std::isfinite(s) || s < 0) {
      return Status::InvalidArgument("mix: every share must be a finite number >= 0");
    }
    sum += s;
  }
  if (sum <= 0) {
    return Status::InvalidArgument("mix: the shares sum to 0");
  }
  return Status::Ok();
}

Mix Mix::Normalised() const {
  double sum = 0;
  for (double s : share) {
    sum += s;
  }
  Mix m = *this;
  for (double& s : m.share) {
    s /= sum;
  }
  return m;
}

std::string Mix::Describe() const {
  const Mix m = Normalised();
  char buf[128];
  std::snprintf(buf, sizeof(buf), "critical %.2f%%, high %.2f%%, normal %.2f%%, low %.2f%%",
                100 * m.share[0], 100 * m.share[1], 100 * m.share[2], 100 * m.share[3]);
  return buf;
}

struct EventGenerator::Draw {
  Priority priority;
  const TypeSpec* spec;
  uint64_t meter;
  uint64_t r;  // more random bits for values
};

EventGenerator::EventGenerator(const Mix& mix, uint64_t fleet_size, uint64_t seed,
                               std::string source)
    : fleet_size_(fleet_size == 0 ? 1 : fleet_size), seed_(seed), source_(std::move(source)) {
  const Mix m = mix.Normalised();
  double cumulative = 0;
  for (size_t i = 0; i < kNumPriorities; ++i) {
    cumulative += m.share[i];
    thresholds_[i] = static_cast<uint64_t>(std::llround(cumulative * 4294967296.0));
  }
  thresholds_[kNumPriorities - 1] = uint64_t{1} << 32;
}

EventGenerator::Draw EventGenerator::DrawFor(uint64_t seq) const {
  const uint64_t a = SplitMix64(seed_ ^ (seq * 0xD1B54A32D192ED03ULL));
  const uint64_t b = SplitMix64(a);
  Draw d{};
  const uint64_t level_draw = a & 0xFFFFFFFFULL;
  size_t level = 0;
  while (level + 1 < kNumPriorities && level_draw >= thresholds_[level]) {
    ++level;
  }
  d.priority = static_cast<Priority>(level);
  d.spec = &PickType(d.priority, a >> 32);
  d.meter = b % fleet_size_;
  d.r = SplitMix64(b);
  return d;
}

Priority EventGenerator::PriorityOf(uint64_t seq) const { return DrawFor(seq).priority; }

Priority EventGenerator::Append(uint64_t seq, int64_t sent_us, std::string* out) const {
  const Draw d = DrawFor(seq);
  AppendEvent(d, seq, sent_us, source_, out);
  return d.priority;
}

Priority EventGenerator::AppendCanary(uint64_t seq, int64_t sent_us, std::string* out) const {
  static const TypeSpec kOverVoltage = {"over_voltage", "3.26.38.93", Shape::kVoltage, 1};
  Draw d = DrawFor(seq);
  d.priority = Priority::kCritical;
  d.spec = &kOverVoltage;
  AppendEvent(d, seq, sent_us, kCanarySource, out);
  return Priority::kCritical;
}

void EventGenerator::AppendEvent(const Draw& d, uint64_t seq, int64_t sent_us,
                                 std::string_view source, std::string* out) const {
  // Meters are numbered along feeders: 2,000 meters a feeder, 40 feeders a
  // substation, so a storm's events bunch by feeder as the fleet index does.
  const uint64_t feeder = d.meter / 2000;
  const uint64_t substation = feeder / 40;
  const uint64_t transformer = d.meter / 8;
  uint64_t r = d.r;
  auto take = [&r](uint64_t n) {
    const uint64_t v = r % n;
    r = r / n ^ SplitMix64(r);
    return v;
  };

  out->append("{\"source\":\"");
  out->append(source);
  out->append("\",\"source_seq\":");
  AppendUint(seq, out);
  out->append(",\"meter_id\":\"1ND");
  AppendPadded(d.meter, 9, out);
  out->append("NMD06\",\"type\":\"");
  out->append(d.spec->type);
  out->push_back('"');
  // Bare alarms carry the CIM code about half the time: vendors differ.
  if (!d.spec->cim_code.empty() && (d.spec->shape != Shape::kBare || take(2) == 0)) {
    out->append(",\"cim_code\":\"");
    out->append(d.spec->cim_code);
    out->push_back('"');
  }
  // The meter's clock: up to 2 s behind the head-end, after a restoration
  // sometimes hours off.
  const int64_t skew_us = take(100) < 2 ? static_cast<int64_t>(take(4)) * 3'600'000'000
                                        : static_cast<int64_t>(take(2'000'000));
  out->append(",\"device_time\":");
  AppendTime(sent_us - skew_us, out);

  switch (d.spec->shape) {
    case Shape::kBare:
      break;
    case Shape::kVoltage:
      out->append(",\"headend_time\":");
      AppendTime(sent_us, out);
      out->append(",\"value\":");
      AppendTenths(d.spec->type == "high_temperature" ? 700 + take(300)
                   : d.spec->type == "under_voltage"  ? 1000 + take(100)
                   : d.spec->type == "over_voltage"   ? 1320 + take(100)
                                                      : 1180 + take(40),
                   out);
      out->append(d.spec->type == "high_temperature" ? ",\"unit\":\"degC\"" : ",\"unit\":\"V\"");
      out->append(",\"phase\":\"");
      out->append(kPhases[take(4)]);
      out->append("\",\"duration_ms\":");
      AppendUint(take(300'000), out);
      out->append(",\"location\":{\"transformer\":\"T-");
      AppendUint(transformer, out);
      out->append("\",\"feeder\":\"F-");
      AppendUint(feeder, out);
      out->append("\",\"substation\":\"S-");
      AppendUint(substation, out);
      out->append("\"}");
      break;
    case Shape::kOutage:
      out->append(",\"headend_time\":");
      AppendTime(sent_us, out);
      out->append(",\"duration_ms\":");
      AppendUint(60'000 + take(3'600'000), out);
      out->append(",\"location\":{\"feeder\":\"F-");
      AppendUint(feeder, out);
      out->append("\",\"substation\":\"S-");
      AppendUint(substation, out);
      out->append("\"}");
      break;
    case Shape::kReading:
      out->append(
          ",\"reading_type\":\"0.0.2.4.1.1.12.0.0.0.0.0.0.0.0.3.72.0\",\"interval_start\":");
      AppendTime(sent_us - skew_us - 900'000'000, out);
      out->append(",\"value\":");
      AppendTenths(take(100'000), out);
      out->append(",\"unit\":\"kWh\",\"quality\":");
      AppendUint(take(4) == 0 ? 1 : 0, out);
      out->append(",\"location\":{\"service_point\":\"SP-");
      AppendUint(d.meter, out);
      out->append("\",\"feeder\":\"F-");
      AppendUint(feeder, out);
      out->append("\"}");
      break;
  }
  out->append(",\"load_sent_us\":");
  AppendUint(static_cast<uint64_t>(sent_us), out);
  out->append("}\n");
}

}  // namespace gridgate::load
