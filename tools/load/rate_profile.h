#pragma once

#include <string>

#include "common/status.h"

namespace gridgate::load {

// The offered load over time: a baseline rate, then optionally a storm — a
// linear ramp to a peak, a hold at the peak, and an exponential decay back to
// the baseline — then optionally more baseline. With peak_eps = 0 it is a
// steady load of lead_seconds at baseline_eps.
//
//   rate ^        ______
//        |       /      \_
//        |      /         `-._
//   base |_____/              `--.____ tail
//        +-----+--+------+--------+----> t
//         lead ramp hold   decay
//
// The decay is baseline + (peak - baseline) * exp(-t / tau), with tau chosen
// so that the excess has fallen to 1% of (peak - baseline) at the end of
// decay_seconds. EventsBy() integrates the rate exactly, so a sender that
// falls behind catches up to the same total.
//
// A value type; thread-safe for concurrent reads.
struct RateProfile {
  double baseline_eps = 10'000;
  double peak_eps = 0;  // 0: no storm, steady at baseline_eps
  double lead_seconds = 60;
  double ramp_seconds = 0;
  double hold_seconds = 0;
  double decay_seconds = 0;
  double tail_seconds = 0;

  // The brownout-recovery storm of issue 5: 5 s at 10,000/s, a 1 s ramp to
  // 500,000/s, 10 s held, an exponential decay over 20 s.
  static RateProfile Storm();
  // `eps` events per second for `seconds`.
  static RateProfile Steady(double eps, double seconds);

  // InvalidArgument naming the field (negative, not finite, peak below baseline).
  Status Validate() const;

  double DurationSeconds() const;
  // The rate at `t` seconds from the start (0 outside [0, duration)).
  double RateAt(double t) const;
  // Events offered in [0, t]: the integral of RateAt, clamped to [0, duration].
  double EventsBy(double t) const;
  // EventsBy(DurationSeconds()).
  double TotalEvents() const;
  // One line: "storm 10000/s for 5 s, ramp 1 s to 500000/s, ...".
  std::string Describe() const;
};

}  // namespace gridgate::load
