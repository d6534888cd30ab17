#include "buffer/slab_pool.h"

#include <gtest/gtest.h>

#include <cstring>

namespace gridgate::buffer {
namespace {

constexpr size_t kSlab = 64 * 1024;

TEST(SlabPoolTest, GrowsOnDemandUpToTheCap) {
  SlabPool pool(kSlab, 3);
  auto a = pool.Acquire();
  auto b = pool.Acquire();
  auto c = pool.Acquire();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(pool.mapped_slabs(), 3u);
  EXPECT_EQ(pool.mapped_bytes(), 3 * kSlab);
  EXPECT_EQ(pool.Acquire(), nullptr);
  EXPECT_EQ(pool.map_failures(), 0u) << "the cap is not a failure";
  // Slabs are writable over their whole size.
  std::memset(a->data(), 0xab, a->size());
  EXPECT_EQ(static_cast<unsigned char>(a->data()[kSlab - 1]), 0xab);
}

TEST(SlabPoolTest, ReusesTheMostRecentlyReleasedSlab) {
  SlabPool pool(kSlab, 4);
  auto a = pool.Acquire();
  auto b = pool.Acquire();
  char* b_data = b->data();
  pool.Release(std::move(a), 10);
  pool.Release(std::move(b), 20);
  EXPECT_EQ(pool.idle_slabs(), 2u);
  auto again = pool.Acquire();
  EXPECT_EQ(again->data(), b_data);
  EXPECT_EQ(pool.mapped_slabs(), 2u) << "reuse maps nothing new";
  EXPECT_EQ(pool.slabs_mapped_total(), 2u);
}

TEST(SlabPoolTest, TakeIdleSinceHandsOutOnlyTheLongIdle) {
  SlabPool pool(kSlab, 4);
  auto a = pool.Acquire();
  auto b = pool.Acquire();
  auto c = pool.Acquire();
  pool.Release(std::move(a), 100);
  pool.Release(std::move(b), 200);
  pool.Release(std::move(c), 300);

  auto taken = pool.TakeIdleSince(200);
  EXPECT_EQ(taken.size(), 2u);
  EXPECT_EQ(pool.idle_slabs(), 1u);
  EXPECT_EQ(pool.mapped_slabs(), 1u);
  EXPECT_EQ(pool.slabs_unmapped_total(), 2u);
  EXPECT_TRUE(pool.TakeIdleSince(299).empty());

  // Room under the cap again: new slabs can be mapped.
  taken.clear();
  auto d = pool.Acquire();
  auto e = pool.Acquire();
  auto f = pool.Acquire();
  auto g = pool.Acquire();
  EXPECT_NE(g, nullptr) << "one idle slab reused and three mapped anew";
  EXPECT_EQ(pool.mapped_slabs(), 4u);
  EXPECT_EQ(pool.Acquire(), nullptr);
}

}  // namespace
}  // namespace gridgate::buffer
