#pragma once

#include <string_view>

#include "common/status.h"
#include "filter/pop_batch.h"

namespace gridgate::sink {

// Where the dispatcher delivers events: a file, stdout, a webhook, later
// Kafka or MQTT. Every sink sits behind this one interface.
//
// A sink is called by one thread, the dispatcher's, one batch at a time.
// Deliver returns OK only once the sink has taken every event of the batch
// (written, flushed, or acknowledged by the far end); any error means the
// dispatcher returns the whole batch to the filter and retries it later with
// back-off, so a sink may see an event again (at-least-once; the gateway
// sequence number lets a reader drop duplicates). The batch, and the views
// into it, are valid only during the call.
class Sink {
 public:
  virtual ~Sink() = default;

  // Delivers every event of `batch` (never empty), in order.
  virtual Status Deliver(const filter::PopBatch& batch) = 0;

  // "file", "stdout", "http", for logs and metrics.
  virtual std::string_view name() const = 0;
};

}  // namespace gridgate::sink
