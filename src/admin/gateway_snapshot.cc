#include "admin/gateway_snapshot.h"

#include <cmath>

namespace gridgate::admin {

std::optional<double> DrainEstimateSeconds(const GatewaySnapshot& snapshot) {
  const uint64_t backlog = snapshot.filter.Queued() + snapshot.filter.OnDisk();
  if (backlog == 0) {
    return 0.0;
  }
  const double rate = snapshot.dispatch_events_per_second;
  if (!std::isfinite(rate) || rate <= 0) {
    return std::nullopt;
  }
  return static_cast<double>(backlog) / rate;
}

}  // namespace gridgate::admin
