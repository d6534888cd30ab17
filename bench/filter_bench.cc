// Micro-benchmarks of the BackpressureFilter's memory tier: what one event
// costs to push, pop and ack, on one thread and with four producers feeding
// one consumer.
//
// The events are shaped like a storm: a 200-byte JSON payload, a 17-byte
// meter id, a 16-byte type, and priorities in the storm mix (per mille: 7
// critical, 170 high, 255 normal, 568 low). They are built once, outside the
// timed loops. Every benchmark reports items_per_second (events/s) and
// time_per_event (seconds per event, shown as "57ns").
//
//   cmake --preset release && cmake --build --preset release --target filter_bench
//   ./build/bin/filter_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true

#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "common/status.h"
#include "event/event.h"
#include "event/priority.h"
#include "filter/backpressure_filter.h"
#include "filter/filter_options.h"
#include "filter/filter_stats.h"
#include "filter/pop_batch.h"
#include "filter/push_outcome.h"
#include "event_pool.h"

namespace gridgate::filter {
namespace {

using bench::EventPool;

using SteadyClock = std::chrono::steady_clock;

// Events per iteration of the single-thread benchmarks: one full pop.
constexpr size_t kChunkEvents = 1024;
// Distinct pre-built events; iterations walk through them chunk by chunk, so
// that the payloads read are not always the same few cache lines.
constexpr size_t kPoolEvents = 8 * kChunkEvents;
constexpr size_t kPopMaxEvents = 1024;

constexpr size_t kProducers = 4;
constexpr size_t kEventsPerProducer = 1'000'000;
constexpr size_t kProducerBatchEvents = 256;
constexpr std::chrono::milliseconds kConsumerPopTimeout{1};
// How long a producer waits before pushing refused events again. A real
// source would honour retry_after_ms (at least 100 ms); this retries sooner,
// so that the benchmark measures the filter rather than the sender's patience.
constexpr std::chrono::microseconds kRetryBackoff{50};

static_assert(kPoolEvents % kChunkEvents == 0 && kPoolEvents % kProducerBatchEvents == 0,
              "chunks must tile the pool");

const EventPool& SharedPool() {
  static const EventPool* const pool = new EventPool(kPoolEvents, bench::StormPriority);
  return *pool;
}

// A filter with the default options (512 MiB budget), or nullptr with the
// benchmark marked as failed.
std::unique_ptr<BackpressureFilter> NewFilter(benchmark::State& state) {
  Result<std::unique_ptr<BackpressureFilter>> filter = BackpressureFilter::Create(FilterOptions{});
  if (!filter.ok()) {
    state.SkipWithError(filter.status().ToString().c_str());
    return nullptr;
  }
  return std::move(filter).value();
}

// Pushes `events` in batches of `batch_events`. False, with the benchmark
// marked as failed, when anything is refused: the single-thread benchmarks
// never come near the budget.
bool PushAllQueued(benchmark::State& state, BackpressureFilter* filter,
                   std::span<const Event> events, size_t batch_events,
                   std::vector<PushOutcome>* outcomes) {
  for (size_t i = 0; i < events.size(); i += batch_events) {
    const std::span<const Event> batch = events.subspan(i, batch_events);
    const std::span<PushOutcome> out = std::span<PushOutcome>(*outcomes).first(batch.size());
    if (Status s = filter->Push(batch, out); !s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      return false;
    }
    for (const PushOutcome& o : out) {
      if (o.result != PushResult::kQueued) {
        state.SkipWithError(("push refused: " + std::string(RefuseReasonName(o.reason))).c_str());
        return false;
      }
    }
  }
  return true;
}

// Pops and acks until `count` events have been delivered. False, with the
// benchmark marked as failed, on an error or when the filter runs dry early.
bool PopAckAll(benchmark::State& state, BackpressureFilter* filter, size_t count,
               const PopLimits& limits, PopBatch* batch) {
  size_t delivered = 0;
  while (delivered < count) {
    if (Status s = filter->Pop(limits, std::chrono::nanoseconds::zero(), batch); !s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      return false;
    }
    if (batch->empty()) {
      state.SkipWithError("the filter ran dry before every pushed event was popped");
      return false;
    }
    delivered += batch->size();
    if (Status s = filter->Ack(batch); !s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      return false;
    }
  }
  return true;
}

// items_per_second (events/s) and time_per_event, over the benchmark's time
// (CPU time by default, wall time with UseRealTime, the measured time with
// UseManualTime). time_per_event is in seconds: the console shows it with an
// SI prefix ("57.2ns"), the JSON output as a plain number (5.72e-08).
void ReportEvents(benchmark::State& state, size_t events_per_iteration) {
  state.SetItemsProcessed(static_cast<int64_t>(events_per_iteration) * state.iterations());
  state.counters["time_per_event"] = benchmark::Counter(
      static_cast<double>(events_per_iteration),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

// Push, pop and ack on one thread: per iteration, kChunkEvents events pushed
// in batches of range(0) events, then popped 1024 at a time and acked.
void BM_PushPopAck_SingleThread(benchmark::State& state) {
  const size_t batch_events = static_cast<size_t>(state.range(0));
  const EventPool& pool = SharedPool();
  std::unique_ptr<BackpressureFilter> filter = NewFilter(state);
  if (filter == nullptr) {
    return;
  }
  std::vector<PushOutcome> outcomes(batch_events);
  PopBatch batch;
  const PopLimits limits{.max_events = kPopMaxEvents};
  size_t chunk = 0;
  for (auto _ : state) {
    const std::span<const Event> events = pool.Chunk(chunk++, kChunkEvents);
    if (!PushAllQueued(state, filter.get(), events, batch_events, &outcomes) ||
        !PopAckAll(state, filter.get(), events.size(), limits, &batch)) {
      break;
    }
  }
  ReportEvents(state, kChunkEvents);
}
BENCHMARK(BM_PushPopAck_SingleThread)->ArgName("push_batch")->Arg(1)->Arg(16)->Arg(256);

// Push alone: the timed part of each iteration pushes kChunkEvents events in
// batches of range(0); the pop and ack that make room again are not timed
// (manual time, so the CPU column includes them).
void BM_PushOnly(benchmark::State& state) {
  const size_t batch_events = static_cast<size_t>(state.range(0));
  const EventPool& pool = SharedPool();
  std::unique_ptr<BackpressureFilter> filter = NewFilter(state);
  if (filter == nullptr) {
    return;
  }
  std::vector<PushOutcome> outcomes(batch_events);
  PopBatch batch;
  const PopLimits limits{.max_events = kPopMaxEvents};
  size_t chunk = 0;
  for (auto _ : state) {
    const std::span<const Event> events = pool.Chunk(chunk++, kChunkEvents);
    const SteadyClock::time_point start = SteadyClock::now();
    const bool pushed = PushAllQueued(state, filter.get(), events, batch_events, &outcomes);
    const SteadyClock::time_point end = SteadyClock::now();
    state.SetIterationTime(std::chrono::duration<double>(end - start).count());
    if (!pushed || !PopAckAll(state, filter.get(), events.size(), limits, &batch)) {
      break;
    }
  }
  ReportEvents(state, kChunkEvents);
}
BENCHMARK(BM_PushOnly)->ArgName("push_batch")->Arg(1)->Arg(16)->Arg(256)->UseManualTime();

// Pop and ack alone: each iteration pushes kChunkEvents events in batches of
// 256 untimed, then times popping them range(0) at a time and acking.
void BM_PopAckOnly(benchmark::State& state) {
  const EventPool& pool = SharedPool();
  std::unique_ptr<BackpressureFilter> filter = NewFilter(state);
  if (filter == nullptr) {
    return;
  }
  std::vector<PushOutcome> outcomes(kProducerBatchEvents);
  PopBatch batch;
  const PopLimits limits{.max_events = static_cast<size_t>(state.range(0))};
  size_t chunk = 0;
  for (auto _ : state) {
    const std::span<const Event> events = pool.Chunk(chunk++, kChunkEvents);
    if (!PushAllQueued(state, filter.get(), events, kProducerBatchEvents, &outcomes)) {
      break;
    }
    const SteadyClock::time_point start = SteadyClock::now();
    const bool delivered = PopAckAll(state, filter.get(), events.size(), limits, &batch);
    const SteadyClock::time_point end = SteadyClock::now();
    state.SetIterationTime(std::chrono::duration<double>(end - start).count());
    if (!delivered) {
      break;
    }
  }
  ReportEvents(state, kChunkEvents);
}
BENCHMARK(BM_PopAckOnly)->ArgName("pop_max")->Arg(64)->Arg(1024)->UseManualTime();

// What one run of the 4-producer benchmark saw, beyond its time.
struct MultiRunResult {
  uint64_t refusals = 0;  // events refused as retryable, and pushed again
  uint64_t pops = 0;      // pops that returned at least one event
  uint64_t empty_pops = 0;
  bool ok = true;
};

// Pushes `count` events, walking the pool from chunk `first_chunk`, in batches
// of kProducerBatchEvents, and pushes refused events again until each one is
// queued. On an error or a refusal that retrying cannot help, sets `*failed`
// and shuts the filter down so that the consumer stops.
void Produce(BackpressureFilter* filter, const EventPool& pool, size_t first_chunk, size_t count,
             std::atomic<uint64_t>* refusals, std::atomic<bool>* failed) {
  std::vector<PushOutcome> outcomes(kProducerBatchEvents);
  std::vector<Event> pending;
  pending.reserve(kProducerBatchEvents);
  uint64_t refused = 0;
  for (size_t pushed = 0, chunk = first_chunk; pushed < count && !failed->load();
       pushed += kProducerBatchEvents, ++chunk) {
    std::span<const Event> batch = pool.Chunk(chunk, kProducerBatchEvents)
                                       .first(std::min(kProducerBatchEvents, count - pushed));
    while (!batch.empty()) {
      const std::span<PushOutcome> out = std::span<PushOutcome>(outcomes).first(batch.size());
      if (!filter->Push(batch, out).ok()) {
        failed->store(true);
        filter->Shutdown();
        return;
      }
      // Keep the refused events, in order, for the next try. `pending` may
      // hold `batch` itself: compacting in place only moves events forward.
      size_t kept = 0;
      for (size_t i = 0; i < batch.size(); ++i) {
        if (out[i].result == PushResult::kQueued) {
          continue;
        }
        if (!IsRetryable(out[i].reason)) {
          failed->store(true);
          filter->Shutdown();
          return;
        }
        if (batch.data() == pending.data()) {
          pending[kept] = batch[i];
        } else {
          pending.push_back(batch[i]);
        }
        ++kept;
      }
      pending.resize(kept);
      refused += kept;
      batch = pending;
      if (!batch.empty()) {
        std::this_thread::sleep_for(kRetryBackoff);
      }
    }
  }
  refusals->fetch_add(refused);
}

// Pops and acks until `count` events have been delivered.
void Consume(BackpressureFilter* filter, uint64_t count, MultiRunResult* result) {
  PopBatch batch;
  const PopLimits limits{.max_events = kPopMaxEvents};
  uint64_t delivered = 0;
  while (delivered < count) {
    if (!filter->Pop(limits, kConsumerPopTimeout, &batch).ok()) {
      // Unavailable: a producer failed and shut the filter down.
      result->ok = false;
      return;
    }
    if (batch.empty()) {
      ++result->empty_pops;
      continue;
    }
    ++result->pops;
    delivered += batch.size();
    if (!filter->Ack(&batch).ok()) {
      result->ok = false;
      return;
    }
  }
}

// One run: kProducers threads push kEventsPerProducer events each while the
// calling thread consumes them all.
MultiRunResult RunProducersAndConsumer(BackpressureFilter* filter, const EventPool& pool) {
  MultiRunResult result;
  std::atomic<uint64_t> refusals{0};
  std::atomic<bool> failed{false};
  const size_t chunks_per_producer = pool.size() / kProducerBatchEvents / kProducers;
  std::vector<std::thread> producers;
  producers.reserve(kProducers);
  for (size_t p = 0; p < kProducers; ++p) {
    producers.emplace_back(Produce, filter, std::cref(pool), p * chunks_per_producer,
                           kEventsPerProducer, &refusals, &failed);
  }
  Consume(filter, kProducers * kEventsPerProducer, &result);
  for (std::thread& t : producers) {
    t.join();
  }
  result.refusals = refusals.load();
  result.ok = result.ok && !failed.load();
  return result;
}

// Four producers pushing batches of 256 into one filter (default 512 MiB
// budget), one consumer popping up to 1024 (1 ms timeout) and acking. The
// threads are started by hand in each iteration; the time is wall time. One
// untimed run first maps the slabs, so the iterations measure a warm filter.
void BM_PushPopAck_4Producers1Consumer(benchmark::State& state) {
  const EventPool& pool = SharedPool();
  std::unique_ptr<BackpressureFilter> filter = NewFilter(state);
  if (filter == nullptr) {
    return;
  }
  if (!RunProducersAndConsumer(filter.get(), pool).ok) {
    state.SkipWithError("warm-up run failed");
    return;
  }
  uint64_t refusals = 0;
  uint64_t pops = 0;
  uint64_t empty_pops = 0;
  for (auto _ : state) {
    const MultiRunResult result = RunProducersAndConsumer(filter.get(), pool);
    if (!result.ok) {
      state.SkipWithError("a producer or the consumer failed");
      break;
    }
    refusals += result.refusals;
    pops += result.pops;
    empty_pops += result.empty_pops;
  }
  // Every event pushed was delivered, none is left behind.
  if (const FilterStats stats = filter->Stats();
      stats.Queued() != 0 || stats.InFlight() != 0 || !stats.LedgerBalanced()) {
    state.SkipWithError("the ledger does not balance after the run");
    return;
  }
  const double total_events = static_cast<double>(kProducers * kEventsPerProducer) *
                              static_cast<double>(state.iterations());
  ReportEvents(state, kProducers * kEventsPerProducer);
  state.counters["refused_per_event"] = static_cast<double>(refusals) / total_events;
  state.counters["events_per_pop"] = pops == 0 ? 0.0 : total_events / static_cast<double>(pops);
  state.counters["empty_pops"] =
      benchmark::Counter(static_cast<double>(empty_pops), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_PushPopAck_4Producers1Consumer)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);

}  // namespace
}  // namespace gridgate::filter

BENCHMARK_MAIN();
