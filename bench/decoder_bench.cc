// Micro-benchmarks of the ingest path's CPU cost per event: decoding NDJSON
// batches (event::Decoder) and classifying the events (event::Classifier), as
// IngestPipeline does for each TCP read or HTTP body.
//
// The events are shaped like a storm (../shared/EVENTS.md): bare last-gasp and
// restoration events, over-voltage events with value, unit, phase, duration and
// location, and interval readings with reading type, interval start, value,
// unit, quality and location, each with source, source_seq, meter_id, type,
// cim_code where the type has one, device_time, headend_time and an unknown
// field "load_sent_us" as the load generator adds it. With all of those fields
// they come to about 240, 370 and 430 bytes (EVENTS.md's over-voltage example
// is 339 bytes without load_sent_us). The mix per 20 events: 4 bare, 5 over-voltage-shaped,
// 11 readings. They are packed into NDJSON batches of at most 64 KiB (one TCP
// read; about 200 lines each), built once outside the timed loops. Every
// benchmark reports items_per_second (events/s) and time_per_event.
//
//   cmake --preset release && cmake --build --preset release --target decoder_bench
//   ./build/bin/decoder_bench --benchmark_filter='BM_[A-Za-z]*$' \
//       --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
//
// Instructions per event, which a noisy machine does not blur: the
// "/iterations:2000" variant runs a fixed count (341,343 events), and
// callgrind collects only inside DecodeAndClassify, so that "Collected" /
// events is the cost of one event. Valgrind 3.19 cannot read clang's DWARF 5,
// hence the copy without debug information:
//
//   strip --strip-debug -o /tmp/decoder_bench build/bin/decoder_bench
//   valgrind --tool=callgrind --toggle-collect='*DecodeAndClassify*' \
//       --callgrind-out-file=/tmp/decoder.cg /tmp/decoder_bench \
//       --benchmark_filter='BM_DecodeClassify/iterations'
//   callgrind_annotate /tmp/decoder.cg | head -30

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/status.h"
#include "event/classifier.h"
#include "event/json_decoder.h"
#include "sink/common/delivered_format.h"

namespace gridgate::event {
namespace {

constexpr size_t kBatchBytes = 64 * 1024;
constexpr size_t kPoolEvents = 4096;

// A device time in July 2026; event i is i*37 ms later.
constexpr int64_t kBaseTimeMs = 1'783'519'420'100;

std::string Rfc3339(int64_t unix_ms) {
  std::string out;
  sink::AppendRfc3339Millis(unix_ms * 1'000'000, &out);
  return out;
}

struct BareType {
  const char* type;
  const char* cim_code;
};
// Bare events of a storm: outage onset, then restoration and its aftermath.
constexpr BareType kBareTypes[] = {
    {"last_gasp", "3.26.136.47"},     {"power_restored", "3.26.136.216"},
    {"voltage_normal", "3.26.38.37"}, {"meter_reboot", "0.11.3.215"},
    {"clock_error", "3.36.0.79"},
};
// Voltage events with a measurement (the over_voltage shape of EVENTS.md).
constexpr BareType kVoltageTypes[] = {
    {"over_voltage", "3.26.38.93"},
    {"voltage_sag", "3.21.38.223"},
    {"under_voltage", "3.26.38.150"},
};

// The i-th event of the pool, one JSON object without its newline.
std::string StormEvent(size_t i) {
  char meter_id[32];
  std::snprintf(meter_id, sizeof(meter_id), "1ND%09zuNMD%02zu", (i * 7919) % 1'000'000'000,
                i % 100);
  const int64_t device_ms = kBaseTimeMs + static_cast<int64_t>(i) * 37;
  const std::string device_time = Rfc3339(device_ms);
  const std::string headend_time = Rfc3339(device_ms + 920);
  const std::string source = "hes-east-0" + std::to_string(1 + i % 4);
  const std::string head = "{\"source\":\"" + source +
                           "\",\"source_seq\":" + std::to_string(90'071'992'548 + i) +
                           ",\"meter_id\":\"" + meter_id + "\"";
  const std::string times =
      ",\"device_time\":\"" + device_time + "\",\"headend_time\":\"" + headend_time + "\"";
  const std::string location = ",\"location\":{\"transformer\":\"T-" +
                               std::to_string(4000 + i % 997) + "\",\"feeder\":\"F-" +
                               std::to_string(i % 40) + "\",\"substation\":\"S-0" +
                               std::to_string(i % 7) + "\"}";
  const std::string sent = ",\"load_sent_us\":" + std::to_string(1'783'519'420'100'000 + i * 3);
  const size_t slot = i % 20;
  if (slot < 4) {
    const BareType& t = kBareTypes[i % std::size(kBareTypes)];
    return head + ",\"type\":\"" + t.type + "\",\"cim_code\":\"" + t.cim_code + "\"" + times +
           sent + "}";
  }
  if (slot < 9) {
    const BareType& t = kVoltageTypes[i % std::size(kVoltageTypes)];
    return head + ",\"type\":\"" + t.type + "\",\"cim_code\":\"" + t.cim_code + "\"" + times +
           ",\"value\":" + std::to_string(100 + i % 40) + "." + std::to_string(i % 10) +
           ",\"unit\":\"V\",\"phase\":\"" + "ABC"[i % 3] +
           "\",\"duration_ms\":" + std::to_string(180 * (1 + i % 1000)) + location + sent + "}";
  }
  const std::string interval_start = Rfc3339(device_ms - 900'000);
  return head +
         ",\"type\":\"interval_reading\",\"reading_type\":\"0.0.2.4.1.1.12.0.0.0.0.0.0.0.0.3.72.0\""
         ",\"interval_start\":\"" +
         interval_start + "\"" + times + ",\"value\":" + std::to_string(i % 9973) +
         ".125,\"unit\":\"kWh\",\"quality\":" + std::to_string(i % 3 == 0 ? 0 : 8) + location +
         sent + "}";
}

// NDJSON batches of at most kBatchBytes, whole lines only.
std::vector<std::string> StormBatches() {
  std::vector<std::string> batches(1);
  for (size_t i = 0; i < kPoolEvents; ++i) {
    std::string line = StormEvent(i);
    line += '\n';
    if (batches.back().size() + line.size() > kBatchBytes) {
      batches.emplace_back();
    }
    batches.back() += line;
  }
  return batches;
}

const std::vector<std::string>& SharedBatches() {
  static const std::vector<std::string>* const batches =
      new std::vector<std::string>(StormBatches());
  return *batches;
}

// The ingest path's work on one body, kept out of line so that callgrind can
// count its instructions alone (--toggle-collect). Returns the events decoded;
// refused events make the benchmark fail.
[[gnu::noinline]] size_t DecodeAndClassify(Decoder* decoder, Classifier* classifier,
                                           std::string_view body, std::vector<DecodedEvent>* events,
                                           std::vector<EventError>* errors) {
  if (!decoder->DecodeBatch(body, BodyFormat::kNdjson, events, errors).ok() || !errors->empty()) {
    return 0;
  }
  for (const DecodedEvent& e : *events) {
    benchmark::DoNotOptimize(classifier->Classify(e));
  }
  return events->size();
}

void ReportEvents(benchmark::State& state, size_t events) {
  state.SetItemsProcessed(static_cast<int64_t>(events));
  state.counters["time_per_event"] = benchmark::Counter(
      static_cast<double>(events), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["events"] = static_cast<double>(events);
}

// Decode and classify one NDJSON batch per iteration, walking the batches.
void BM_DecodeClassify(benchmark::State& state) {
  const std::vector<std::string>& batches = SharedBatches();
  Result<std::unique_ptr<Decoder>> decoder = Decoder::Create(DecodeOptions{});
  Result<std::unique_ptr<Classifier>> classifier = Classifier::Create(ClassifierRules::Default());
  if (!decoder.ok() || !classifier.ok()) {
    state.SkipWithError("cannot create the decoder or the classifier");
    return;
  }
  std::vector<DecodedEvent> events;
  std::vector<EventError> errors;
  size_t total = 0;
  size_t next = 0;
  for (auto _ : state) {
    const std::string& body = batches[next];
    next = next + 1 == batches.size() ? 0 : next + 1;
    const size_t n =
        DecodeAndClassify(decoder.value().get(), classifier.value().get(), body, &events, &errors);
    if (n == 0) {
      state.SkipWithError(errors.empty() ? "the batch was refused"
                                         : ("an event was refused: " + errors[0].reason).c_str());
      break;
    }
    total += n;
  }
  state.counters["events_per_batch"] =
      static_cast<double>(kPoolEvents) / static_cast<double>(batches.size());
  ReportEvents(state, total);
}
BENCHMARK(BM_DecodeClassify);
// A fixed count, for callgrind (see the top of this file).
BENCHMARK(BM_DecodeClassify)->Iterations(2000);

// Classification alone, over the decoded events of every batch.
void BM_ClassifyOnly(benchmark::State& state) {
  const std::vector<std::string>& batches = SharedBatches();
  Result<std::unique_ptr<Decoder>> decoder = Decoder::Create(DecodeOptions{});
  Result<std::unique_ptr<Classifier>> classifier = Classifier::Create(ClassifierRules::Default());
  if (!decoder.ok() || !classifier.ok()) {
    state.SkipWithError("cannot create the decoder or the classifier");
    return;
  }
  // Keep copies of the strings: the decoder's views last only one batch.
  struct Fields {
    std::string source, type, cim_code, vendor_code;
  };
  std::vector<Fields> fields;
  std::vector<DecodedEvent> events;
  std::vector<EventError> errors;
  for (const std::string& body : batches) {
    if (!decoder.value()->DecodeBatch(body, BodyFormat::kNdjson, &events, &errors).ok() ||
        !errors.empty()) {
      state.SkipWithError("the pool does not decode");
      return;
    }
    for (const DecodedEvent& e : events) {
      fields.push_back(Fields{std::string(e.source), std::string(e.type), std::string(e.cim_code),
                              std::string(e.vendor_code)});
    }
  }
  size_t total = 0;
  for (auto _ : state) {
    for (const Fields& f : fields) {
      benchmark::DoNotOptimize(
          classifier.value()->Classify(f.source, f.type, f.cim_code, f.vendor_code, std::nullopt));
    }
    total += fields.size();
  }
  ReportEvents(state, total);
}
BENCHMARK(BM_ClassifyOnly);

}  // namespace
}  // namespace gridgate::event

BENCHMARK_MAIN();
