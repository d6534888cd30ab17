#include "buffer/level_queue.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "event/record_codec.h"

namespace gridgate::buffer {
namespace {

constexpr size_t kSlab = 4096;

class LevelQueueTest : public ::testing::Test {
 protected:
  // Appends a record with sequence `seq` and a payload of `payload_bytes`.
  bool Append(uint64_t seq, size_t payload_bytes = 100) {
    std::string payload(payload_bytes, 'p');
    Event e;
    e.priority = Priority::kNormal;
    e.meter_id = "m";
    e.type = "t";
    e.payload = payload;
    char* dst = queue_.Append(record::RecordSize(e));
    if (dst == nullptr) {
      return false;
    }
    record::EncodeRecord(e, Seq{seq}, dst);
    return true;
  }

  // Pops the head and returns its record bytes.
  std::string Pop() {
    const char* head = queue_.Front();
    EXPECT_NE(head, nullptr);
    std::string record(head, record::RecordSizeAt(head));
    queue_.PopFront(now_ns_);
    return record;
  }

  static uint64_t SeqOf(const std::string& record) { return record::RecordSeq(record.data()).value; }

  SlabPool pool_{kSlab, 3};
  LevelQueue queue_{&pool_};
  int64_t now_ns_ = 1000;
};

TEST_F(LevelQueueTest, FifoAcrossSlabs) {
  // 100-byte payloads make 150-byte records: 27 fit in a 4 KiB slab.
  for (uint64_t seq = 1; seq <= 60; ++seq) {
    ASSERT_TRUE(Append(seq));
  }
  EXPECT_EQ(queue_.events(), 60u);
  EXPECT_EQ(queue_.bytes(), 60u * 150);
  EXPECT_EQ(queue_.slabs(), 3u);
  for (uint64_t seq = 1; seq <= 60; ++seq) {
    ASSERT_EQ(SeqOf(Pop()), seq);
  }
  EXPECT_TRUE(queue_.empty());
  EXPECT_EQ(queue_.bytes(), 0u);
  EXPECT_EQ(queue_.Front(), nullptr);
}

TEST_F(LevelQueueTest, EmptiedSlabsGoBackToThePoolAtOnce) {
  for (uint64_t seq = 1; seq <= 30; ++seq) {
    ASSERT_TRUE(Append(seq));
  }
  ASSERT_EQ(queue_.slabs(), 2u);
  for (int i = 0; i < 27; ++i) {
    Pop();
  }
  EXPECT_EQ(queue_.slabs(), 1u);
  EXPECT_EQ(pool_.idle_slabs(), 1u);
  for (int i = 0; i < 3; ++i) {
    Pop();
  }
  EXPECT_EQ(queue_.slabs(), 0u) << "an empty level holds no slab";
  EXPECT_EQ(pool_.idle_slabs(), 2u);
}

TEST_F(LevelQueueTest, AppendFailsCleanlyWhenThePoolIsExhausted) {
  uint64_t seq = 1;
  while (Append(seq)) {
    ++seq;
  }
  EXPECT_EQ(seq - 1, 3u * 27) << "three slabs of 27 records";
  const size_t events = queue_.events();
  const size_t bytes = queue_.bytes();
  EXPECT_FALSE(Append(seq));
  EXPECT_EQ(queue_.events(), events);
  EXPECT_EQ(queue_.bytes(), bytes);
}

TEST_F(LevelQueueTest, ReturnedRecordsComeBackFirstInSequenceOrder) {
  for (uint64_t seq = 1; seq <= 6; ++seq) {
    ASSERT_TRUE(Append(seq));
  }
  std::vector<std::string> popped;
  for (int i = 0; i < 4; ++i) {
    popped.push_back(Pop());
  }
  // Two batches in flight, returned newest first.
  queue_.Return(popped[2]);
  queue_.Return(popped[3]);
  queue_.Return(popped[0]);
  queue_.Return(popped[1]);
  EXPECT_EQ(queue_.events(), 6u);
  EXPECT_EQ(queue_.bytes(), 6u * 150);
  for (uint64_t seq = 1; seq <= 6; ++seq) {
    ASSERT_EQ(SeqOf(Pop()), seq);
  }
}

TEST_F(LevelQueueTest, RecordsOfMixedSizesNeverStraddleSlabs) {
  // A record that does not fit the rest of a slab starts the next one.
  ASSERT_TRUE(Append(1, 3000));
  ASSERT_TRUE(Append(2, 3000));
  EXPECT_EQ(queue_.slabs(), 2u);
  ASSERT_TRUE(Append(3, 900));
  EXPECT_EQ(queue_.slabs(), 2u);
  EXPECT_EQ(SeqOf(Pop()), 1u);
  EXPECT_EQ(SeqOf(Pop()), 2u);
  EXPECT_EQ(SeqOf(Pop()), 3u);
}

}  // namespace
}  // namespace gridgate::buffer
