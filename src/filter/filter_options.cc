#include "filter/filter_options.h"

#include <unistd.h>

#include <string>

#include "event/record_format.h"

namespace gridgate::filter {
namespace {

bool InUnitInterval(double f) { return f >= 0.0 && f <= 1.0; }

}  // namespace

size_t FilterOptions::MaxRecordBytes() const {
  return record::kRecordOverhead + record::kMaxMeterIdBytes + record::kMaxTypeBytes +
         max_event_bytes;
}

Status FilterOptions::Validate() const {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  if (budget_bytes == 0) {
    return Status::InvalidArgument("budget_bytes must be greater than 0");
  }
  if (max_event_bytes == 0) {
    return Status::InvalidArgument("max_event_bytes must be greater than 0");
  }
  if (slab_bytes == 0 || slab_bytes % page != 0) {
    return Status::InvalidArgument("slab_bytes (" + std::to_string(slab_bytes) +
                                   ") must be a positive multiple of the page size (" +
                                   std::to_string(page) + ")");
  }
  if (slab_bytes < MaxRecordBytes()) {
    return Status::InvalidArgument(
        "slab_bytes (" + std::to_string(slab_bytes) + ") must hold the largest record (" +
        std::to_string(MaxRecordBytes()) + " bytes for max_event_bytes " +
        std::to_string(max_event_bytes) + ")");
  }
  if (budget_bytes < slab_bytes) {
    return Status::InvalidArgument("budget_bytes (" + std::to_string(budget_bytes) +
                                   ") must be at least one slab (slab_bytes " +
                                   std::to_string(slab_bytes) + ")");
  }
  if (!InUnitInterval(high_watermark_fraction) || high_watermark_fraction == 0.0) {
    return Status::InvalidArgument("high_watermark_fraction must be in (0, 1]");
  }
  if (!InUnitInterval(low_watermark_fraction) ||
      low_watermark_fraction >= high_watermark_fraction) {
    return Status::InvalidArgument(
        "low_watermark_fraction must be in [0, high_watermark_fraction)");
  }
  if (!InUnitInterval(critical_reserve_fraction)) {
    return Status::InvalidArgument("critical_reserve_fraction must be in [0, 1)");
  }
  if (!InUnitInterval(high_reserve_fraction)) {
    return Status::InvalidArgument("high_reserve_fraction must be in [0, 1)");
  }
  const double shared =
      1.0 - critical_reserve_fraction - high_reserve_fraction;
  if (static_cast<double>(budget_bytes) * shared < static_cast<double>(MaxRecordBytes())) {
    return Status::InvalidArgument(
        "critical_reserve_fraction + high_reserve_fraction leave less than one record of the "
        "budget to normal and low events");
  }
  if (release_quiet_period_ms < 0) {
    return Status::InvalidArgument("release_quiet_period_ms must not be negative");
  }
  if (retry_after_min_ms > retry_after_max_ms) {
    return Status::InvalidArgument("retry_after_min_ms must not exceed retry_after_max_ms");
  }
  if (retry_after_default_ms < retry_after_min_ms || retry_after_default_ms > retry_after_max_ms) {
    return Status::InvalidArgument(
        "retry_after_default_ms must lie in [retry_after_min_ms, retry_after_max_ms]");
  }
  if (clock == nullptr) {
    return Status::InvalidArgument("clock must not be null");
  }
  if (spill.has_value()) {
    return spill->Validate(MaxRecordBytes());
  }
  return Status::Ok();
}

}  // namespace gridgate::filter
