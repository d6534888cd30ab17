#include "ingest/ingest_pipeline.h"

#include <algorithm>

namespace gridgate::ingest {

bool IngestResult::RefusedForPressure() const {
  if (accepted > 0 || refused.empty()) {
    return false;
  }
  return std::all_of(refused.begin(), refused.end(),
                     [](const Refusal& r) { return r.retry_after_ms > 0; });
}

uint32_t IngestResult::MaxRetryAfterMs() const {
  uint32_t ms = 0;
  for (const Refusal& r : refused) {
    ms = std::max(ms, r.retry_after_ms);
  }
  return ms;
}

Result<std::unique_ptr<IngestPipeline>> IngestPipeline::Create(filter::BackpressureFilter* filter,
                                                               event::Classifier* classifier,
                                                               const event::DecodeOptions& options,
                                                               Clock* clock,
                                                               IngestCounters* counters) {
  auto decoder = event::Decoder::Create(options);
  if (!decoder.ok()) {
    return decoder.status();
  }
  return std::unique_ptr<IngestPipeline>(
      new IngestPipeline(filter, classifier, std::move(decoder).value(), clock, counters));
}

IngestPipeline::IngestPipeline(filter::BackpressureFilter* filter, event::Classifier* classifier,
                               std::unique_ptr<event::Decoder> decoder, Clock* clock,
                               IngestCounters* counters)
    : filter_(filter),
      classifier_(classifier),
      decoder_(std::move(decoder)),
      clock_(clock),
      counters_(counters != nullptr ? counters : &own_counters_) {}

Status IngestPipeline::Ingest(std::string_view body, event::BodyFormat format,
                              IngestResult* result) {
  *result = IngestResult{};
  counters_->requests.fetch_add(1, std::memory_order_relaxed);
  if (Status s = decoder_->DecodeBatch(body, format, &decoded_, &errors_); !s.ok()) {
    counters_->bad_bodies.fetch_add(1, std::memory_order_relaxed);
    return s;
  }
  result->events = decoded_.size() + errors_.size();
  counters_->events.fetch_add(result->events, std::memory_order_relaxed);
  counters_->invalid.fetch_add(errors_.size(), std::memory_order_relaxed);
  // One clock read per request: the events of a request arrived together.
  const int64_t ingest_time_ns = clock_->UnixNs();
  events_.clear();
  for (const event::DecodedEvent& d : decoded_) {
    Event e;
    e.priority = classifier_->Classify(d).priority;
    e.device_time_ms = d.device_time_ms;
    e.ingest_time_ns = ingest_time_ns;
    e.meter_id = d.meter_id;
    e.type = d.type;
    e.payload = d.raw;
    events_.push_back(e);
  }
  std::vector<Refusal> refused;
  refused.reserve(errors_.size());
  for (event::EventError& error : errors_) {
    refused.push_back(Refusal{error.index, error.line, "invalid: " + error.reason, 0});
  }
  if (!events_.empty()) {
    outcomes_.resize(events_.size());
    if (Status s = filter_->Push(events_, outcomes_); !s.ok()) {
      return s;  // Invariant: a non-empty batch with matching outcomes is never refused whole.
    }
    for (size_t i = 0; i < events_.size(); ++i) {
      const filter::PushOutcome& o = outcomes_[i];
      if (filter::IsAccepted(o.result)) {
        ++result->accepted;
        if (result->first_seq == 0) {
          result->first_seq = o.seq.value;
        }
        result->last_seq = o.seq.value;
        continue;
      }
      refused.push_back(Refusal{decoded_[i].index, decoded_[i].line,
                                std::string(RefuseReasonName(o.reason)), o.retry_after_ms});
    }
  }
  // Batch order, as the sender numbered its events.
  std::sort(refused.begin(), refused.end(),
            [](const Refusal& a, const Refusal& b) { return a.index < b.index; });
  result->refused = std::move(refused);
  return Status::Ok();
}

}  // namespace gridgate::ingest
