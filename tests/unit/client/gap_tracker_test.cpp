#include "gap_tracker.hpp"

#include <gtest/gtest.h>

namespace tickrelay::client {
namespace {

TEST(GapTracker, FirstMessageOfAStreamIsTheBaseline) {
  GapTracker tracker;
  const auto outcome = tracker.observe(1, 5000);
  EXPECT_TRUE(outcome.first);
  EXPECT_EQ(outcome.missing, 0u);
  EXPECT_FALSE(outcome.duplicate);
  EXPECT_EQ(tracker.streams(), 1u);
}

TEST(GapTracker, ConsecutiveIdsAreInOrder) {
  GapTracker tracker;
  tracker.observe(1, 10);
  for (std::uint64_t id = 11; id < 100; ++id) {
    const auto outcome = tracker.observe(1, id);
    EXPECT_EQ(outcome.missing, 0u);
    EXPECT_FALSE(outcome.duplicate);
    EXPECT_FALSE(outcome.first);
  }
}

TEST(GapTracker, JumpCountsTheMissingIds) {
  GapTracker tracker;
  tracker.observe(1, 10);
  EXPECT_EQ(tracker.observe(1, 11).missing, 0u);
  EXPECT_EQ(tracker.observe(1, 15).missing, 3u);  // 12, 13, 14
  EXPECT_EQ(tracker.observe(1, 16).missing, 0u);
}

TEST(GapTracker, RepeatAndBackwardsAreDuplicatesAndDoNotMoveTheSequence) {
  GapTracker tracker;
  tracker.observe(1, 10);
  tracker.observe(1, 11);
  EXPECT_TRUE(tracker.observe(1, 11).duplicate);
  EXPECT_TRUE(tracker.observe(1, 7).duplicate);
  // The next id after 11 is still in order: the replay left no false gap.
  const auto outcome = tracker.observe(1, 12);
  EXPECT_FALSE(outcome.duplicate);
  EXPECT_EQ(outcome.missing, 0u);
}

TEST(GapTracker, StreamsAreIndependent) {
  GapTracker tracker;
  for (std::uint64_t stream : {30u, 10u, 20u}) EXPECT_TRUE(tracker.observe(stream, 100).first);
  EXPECT_EQ(tracker.observe(10, 101).missing, 0u);
  EXPECT_EQ(tracker.observe(20, 105).missing, 4u);
  EXPECT_TRUE(tracker.observe(30, 100).duplicate);
  EXPECT_EQ(tracker.observe(30, 101).missing, 0u);
  EXPECT_EQ(tracker.streams(), 3u);
}

TEST(GapTracker, ResetStartsNewSequences) {
  GapTracker tracker;
  tracker.observe(1, 10);
  tracker.reset();
  EXPECT_EQ(tracker.streams(), 0u);
  const auto outcome = tracker.observe(1, 500);
  EXPECT_TRUE(outcome.first);
  EXPECT_EQ(outcome.missing, 0u);
}

TEST(GapTracker, ManyStreamsStayCompact) {
  GapTracker tracker;
  for (std::uint64_t s = 0; s < 1000; ++s) tracker.observe(s * 7919 % 1000, 1);
  for (std::uint64_t s = 0; s < 1000; ++s) EXPECT_EQ(tracker.observe(s, 2).missing, 0u);
  EXPECT_EQ(tracker.streams(), 1000u);
}

}  // namespace
}  // namespace tickrelay::client
