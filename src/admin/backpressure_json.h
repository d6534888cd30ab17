#pragma once

#include <string>

#include "admin/gateway_snapshot.h"

namespace gridgate::admin {

// The document of `GET /api/v1/gateway/backpressure`: one JSON object,
// pretty-printed with two-space indentation and a final newline, keys in a
// fixed order (the same snapshot always gives the same bytes). Sections:
//
//   version, timestamp_unix_ms, uptime_seconds, state, pressured_transitions
//   memory    budget, used, mapped, utilisation (used / budget), watermarks
//             (bytes and fraction of the budget), reserves, slabs
//   spill     enabled, totals (spilled, drained, recovered, lost_corrupt),
//             disk budget and use, segments live/free, events and bytes on
//             disk per level, corrupt records, fsync count / errors / mean /
//             max latency (ms)
//   levels    "critical", "high", "normal", "low", each with the same keys:
//             queued, in flight, accepted, refused, delivered, returned, on
//             disk, spilled, drained, recovered, lost, oldest queued age (ms),
//             delivery latency p50/p99 (ms)
//   refused_by_reason   one key per RefuseReason except "none"
//   ledger    accepted, recovered, queued, on_disk, in_flight, delivered,
//             lost, refused, balanced (FilterStats::LedgerBalanced)
//   rates     ingest and dispatch events/s, dispatch bytes/s
//   batches_in_flight, seq_lease_errors
//   backlog_events           queued in memory plus on disk
//   drain_estimate_seconds   DrainEstimateSeconds(): 0 without a backlog
//
// Every key is always present. A value that is unknown — a latency before a
// dispatcher measured it, a ratio over a zero budget, a drain estimate at a
// dispatch rate of 0, any double that is NaN or infinite — is `null`.
// Integers are printed exactly; doubles in their shortest round-trip form.
//
// Thread-safe (no state).
std::string RenderBackpressureJson(const GatewaySnapshot& snapshot);

}  // namespace gridgate::admin
