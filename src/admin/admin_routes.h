#pragma once

// The admin API's routes on an HttpServer:
//   GET /api/v1/gateway/backpressure  application/json, from `backpressure_json`
//   GET /metrics                      text/plain; version=0.0.4, from `metrics_text`
//   GET /healthz                      200 "ok" while the server answers
//   GET /readyz                       200 "ready" when `ready()` is true, else 503
//                                     "not ready"
// The documents come from providers, so these routes do not depend on how
// they are rendered (admin/backpressure_json.h, admin/prometheus_text.h).

#include <functional>
#include <string>

#include "admin/prometheus_text.h"
#include "ingest/http/http_server.h"

namespace gridgate::admin {

struct AdminProviders {
  // Each is called on the server's network thread, once per request; it must
  // be safe to call from there (for example: take a filter snapshot and
  // render it). An exception it throws becomes a 500. All three must be set.
  std::function<std::string()> backpressure_json;
  std::function<std::string()> metrics_text;
  std::function<bool()> ready;
};

inline constexpr char kBackpressurePath[] = "/api/v1/gateway/backpressure";
inline constexpr char kMetricsPath[] = "/metrics";
inline constexpr char kHealthzPath[] = "/healthz";
inline constexpr char kReadyzPath[] = "/readyz";

// Registers the four routes on `server` (before server->Start()). A provider
// left empty answers its route with a 500.
void RegisterAdminRoutes(ingest::http::HttpServer* server, AdminProviders providers);

}  // namespace gridgate::admin
