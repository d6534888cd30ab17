#include "filter/filter_options.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "filter/backpressure_filter.h"

namespace gridgate::filter {
namespace {

struct BadCase {
  std::string field;
  std::function<void(FilterOptions&)> spoil;
};

TEST(FilterOptionsTest, DefaultsAreValid) {
  FilterOptions o;
  EXPECT_TRUE(o.Validate().ok()) << o.Validate().ToString();
  EXPECT_EQ(o.budget_bytes, size_t{512} << 20);
}

TEST(FilterOptionsTest, EachInvalidFieldIsNamedAndCreateFails) {
  const BadCase cases[] = {
      {"budget_bytes", [](FilterOptions& o) { o.budget_bytes = 0; }},
      {"budget_bytes", [](FilterOptions& o) { o.budget_bytes = o.slab_bytes - 1; }},
      {"slab_bytes", [](FilterOptions& o) { o.slab_bytes = 4097; }},
      {"slab_bytes", [](FilterOptions& o) { o.slab_bytes = 0; }},
      {"slab_bytes", [](FilterOptions& o) { o.max_event_bytes = o.slab_bytes; }},
      {"max_event_bytes", [](FilterOptions& o) { o.max_event_bytes = 0; }},
      {"high_watermark_fraction", [](FilterOptions& o) { o.high_watermark_fraction = 1.5; }},
      {"high_watermark_fraction", [](FilterOptions& o) { o.high_watermark_fraction = 0; }},
      {"low_watermark_fraction", [](FilterOptions& o) { o.low_watermark_fraction = 0.9; }},
      {"critical_reserve_fraction", [](FilterOptions& o) { o.critical_reserve_fraction = -0.1; }},
      {"high_reserve_fraction", [](FilterOptions& o) { o.high_reserve_fraction = 2; }},
      {"critical_reserve_fraction + high_reserve_fraction",
       [](FilterOptions& o) {
         o.critical_reserve_fraction = 0.5;
         o.high_reserve_fraction = 0.5;
       }},
      {"release_quiet_period_ms", [](FilterOptions& o) { o.release_quiet_period_ms = -1; }},
      {"retry_after_min_ms", [](FilterOptions& o) { o.retry_after_min_ms = 50'000; }},
      {"retry_after_default_ms", [](FilterOptions& o) { o.retry_after_default_ms = 1; }},
      {"clock", [](FilterOptions& o) { o.clock = nullptr; }},
  };
  for (const BadCase& c : cases) {
    FilterOptions o;
    c.spoil(o);
    const Status s = o.Validate();
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << c.field;
    EXPECT_NE(s.message().find(c.field), std::string::npos)
        << "message '" << s.message() << "' should name " << c.field;
    auto filter = BackpressureFilter::Create(o);
    EXPECT_FALSE(filter.ok()) << c.field;
  }
}

}  // namespace
}  // namespace gridgate::filter
