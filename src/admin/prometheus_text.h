#pragma once

#include <string>
#include <string_view>

#include "admin/gateway_snapshot.h"

namespace gridgate::admin {

// The Content-Type of RenderPrometheus's output, for `GET /metrics`.
inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

// The snapshot in the Prometheus text exposition format 0.0.4: every family
// announced by `# HELP` and `# TYPE`, names `gridgate_…` in base units
// (`_bytes`, `_seconds`), counters ending in `_total`, per-level series
// labelled `priority` ("critical", "high", "normal", "low"), refusals labelled
// `reason`, the filter state as one 0/1 series per `state`. Families and
// series in a fixed order; no sample timestamps; a final newline.
//
// A figure that is unknown (a latency no dispatcher measured yet, a ratio
// over a zero budget, a drain estimate at a dispatch rate of 0) has no
// sample, and a family with no sample is left out. prometheus_text.cc lists
// every family with its HELP text; the output is clean under
// `promtool check metrics` (tested).
//
// Thread-safe (no state).
std::string RenderPrometheus(const GatewaySnapshot& snapshot);

}  // namespace gridgate::admin
