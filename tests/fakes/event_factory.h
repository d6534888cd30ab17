#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>

#include "event/event.h"

namespace gridgate::testing {

// Builds Events for tests and keeps the bytes they point to alive for as long
// as the factory lives. The payload encodes a test-chosen id, so a test can
// tell which event came out of the filter. Not thread-safe: one per thread.
class EventFactory {
 public:
  // An event of `priority` whose payload is `payload_bytes` long (at least
  // enough for the id) and carries `id`.
  Event Make(Priority priority, uint64_t id, size_t payload_bytes = 200,
             int64_t ingest_time_ns = 0) {
    std::string payload = "{\"id\":" + std::to_string(id) + ",\"pad\":\"";
    while (payload.size() + 2 < payload_bytes) {
      payload.push_back('x');
    }
    payload += "\"}";
    storage_.push_back(std::move(payload));
    Event e;
    e.priority = priority;
    e.device_time_ms = 1'780'000'000'000;
    e.ingest_time_ns = ingest_time_ns;
    e.meter_id = "1ND785727916NMD06";
    e.type = "interval_reading";
    e.payload = storage_.back();
    return e;
  }

  // Forgets the bytes of every event made so far.
  void Clear() { storage_.clear(); }

 private:
  std::deque<std::string> storage_;
};

// The id that EventFactory::Make put into `payload`; UINT64_MAX if none.
inline uint64_t PayloadId(std::string_view payload) {
  constexpr std::string_view kKey = "{\"id\":";
  if (payload.substr(0, kKey.size()) != kKey) {
    return UINT64_MAX;
  }
  uint64_t id = 0;
  for (size_t i = kKey.size(); i < payload.size() && payload[i] >= '0' && payload[i] <= '9'; ++i) {
    id = id * 10 + static_cast<uint64_t>(payload[i] - '0');
  }
  return id;
}

}  // namespace gridgate::testing
