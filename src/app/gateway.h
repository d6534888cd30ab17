#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "admin/gateway_snapshot.h"
#include "common/result.h"
#include "config/gateway_config.h"

namespace gridgate::app {

struct BoundPorts {
  uint16_t http = 0;
  uint16_t tcp = 0;
  uint16_t admin = 0;
};

// The gateway: the BackpressureFilter (with its spill directory), the drain
// worker, the dispatcher and its sink, the HTTP and TCP sources and the admin
// API, wired from one GatewayConfig. Threads: one network thread (all
// listeners), the dispatcher, the drain worker.
//
// Create, Start and Stop belong to one owning thread; Snapshot is
// thread-safe (the admin API calls it from the network thread).
class Gateway {
 public:
  // Opens what needs no network: the filter (recovering the spill directory),
  // the classifier and the sink. The error names what failed.
  static Result<std::unique_ptr<Gateway>> Create(const config::GatewayConfig& config);
  ~Gateway();

  // Binds the listeners (port 0: the OS picks; ports() says which) and starts
  // the threads.
  Status Start();
  BoundPorts ports() const;

  // Stops ingest, lets the dispatcher finish (or return) its batch, stops
  // the drain worker, and writes what memory holds to the spill directory.
  // Returns the flush's status (OK without a disk tier: nothing to write).
  Status Stop();

  admin::GatewaySnapshot Snapshot() const;

 private:
  struct Impl;
  explicit Gateway(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gridgate::app
