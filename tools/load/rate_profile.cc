#include "tools/load/rate_profile.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace gridgate::load {
namespace {

// The decay ends when the excess is this share of (peak - baseline).
constexpr double kDecayResidue = 0.01;

double DecayTau(double decay_seconds) { return decay_seconds / std::log(1 / kDecayResidue); }

}  // namespace

RateProfile RateProfile::Storm() {
  RateProfile p;
  p.baseline_eps = 10'000;
  p.peak_eps = 500'000;
  p.lead_seconds = 5;
  p.ramp_seconds = 1;
  p.hold_seconds = 10;
  p.decay_seconds = 20;
  p.tail_seconds = 0;
  return p;
}

RateProfile RateProfile::Steady(double eps, double seconds) {
  RateProfile p;
  p.baseline_eps = eps;
  p.peak_eps = 0;
  p.lead_seconds = seconds;
  return p;
}

Status RateProfile::Validate() const {
  const struct {
    const char* name;
    double value;
  } fields[] = {{"baseline_eps", baseline_eps}, {"peak_eps", peak_eps},
                {"lead_seconds", lead_seconds}, {"ramp_seconds", ramp_seconds},
                {"hold_seconds", hold_seconds}, {"decay_seconds", decay_seconds},
                {"tail_seconds", tail_seconds}};
  for (const auto& f : fields) {
    if (!std::isfinite(f.value) || f.value < 0) {
      return Status::InvalidArgument(std::string(f.name) + " must be a finite number >= 0");
    }
  }
  if (peak_eps > 0 && peak_eps < baseline_eps) {
    return Status::InvalidArgument("peak_eps must be at least baseline_eps (or 0: no storm)");
  }
  if (DurationSeconds() <= 0) {
    return Status::InvalidArgument("the profile lasts 0 seconds");
  }
  return Status::Ok();
}

double RateProfile::DurationSeconds() const {
  if (peak_eps <= 0) {
    return lead_seconds;
  }
  return lead_seconds + ramp_seconds + hold_seconds + decay_seconds + tail_seconds;
}

double RateProfile::RateAt(double t) const {
  if (t < 0 || t >= DurationSeconds()) {
    return 0;
  }
  if (peak_eps <= 0 || t < lead_seconds) {
    return baseline_eps;
  }
  t -= lead_seconds;
  if (t < ramp_seconds) {
    return baseline_eps + (peak_eps - baseline_eps) * t / ramp_seconds;
  }
  t -= ramp_seconds;
  if (t < hold_seconds) {
    return peak_eps;
  }
  t -= hold_seconds;
  if (t < decay_seconds) {
    return baseline_eps + (peak_eps - baseline_eps) * std::exp(-t / DecayTau(decay_seconds));
  }
  return baseline_eps;
}

double RateProfile::EventsBy(double t) const {
  t = std::clamp(t, 0.0, DurationSeconds());
  if (peak_eps <= 0) {
    return baseline_eps * t;
  }
  const double excess = peak_eps - baseline_eps;
  double events = baseline_eps * t;  // the baseline runs under every phase
  t -= lead_seconds;
  if (t <= 0) {
    return events;
  }
  const double in_ramp = std::min(t, ramp_seconds);
  if (ramp_seconds > 0) {
    events += excess * in_ramp * in_ramp / (2 * ramp_seconds);
  }
  t -= ramp_seconds;
  if (t <= 0) {
    return events;
  }
  events += excess * std::min(t, hold_seconds);
  t -= hold_seconds;
  if (t <= 0) {
    return events;
  }
  if (decay_seconds > 0) {
    const double tau = DecayTau(decay_seconds);
    events += excess * tau * (1 - std::exp(-std::min(t, decay_seconds) / tau));
  }
  return events;
}

double RateProfile::TotalEvents() const { return EventsBy(DurationSeconds()); }

std::string RateProfile::Describe() const {
  char buf[256];
  if (peak_eps <= 0) {
    std::snprintf(buf, sizeof(buf), "steady %.0f events/s for %g s (%.0f events)", baseline_eps,
                  lead_seconds, TotalEvents());
  } else {
    std::snprintf(buf, sizeof(buf),
                  "%.0f events/s for %g s, ramp %g s to %.0f events/s, hold %g s, decay "
                  "%g s, tail %g s (%.0f events in %g s)",
                  baseline_eps, lead_seconds, ramp_seconds, peak_eps, hold_seconds, decay_seconds,
                  tail_seconds, TotalEvents(), DurationSeconds());
  }
  return buf;
}

}  // namespace gridgate::load
