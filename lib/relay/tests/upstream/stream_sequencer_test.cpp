#include "upstream/stream_sequencer.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace tickrelay::upstream {
namespace {

using Verdict = StreamSequencer::Verdict;

EventKey key(std::int64_t e, std::int64_t seq = -1) { return EventKey{e, seq}; }

TEST(StreamSequencer, EventKeyComparable) {
  EXPECT_FALSE(EventKey{}.comparable());
  EXPECT_TRUE(key(1).comparable());
  EXPECT_TRUE(key(0, 0).comparable());
  EXPECT_FALSE(key(0, -1).comparable());
}

TEST(StreamSequencer, NewerEventsAreDelivered) {
  StreamSequencer seq;
  std::uint64_t gaps = 0;
  for (std::int64_t e = 100; e < 110; ++e) EXPECT_EQ(seq.observe(0, 1, key(e), -1, gaps), Verdict::deliver) << e;
  EXPECT_EQ(gaps, 0u);
}

TEST(StreamSequencer, OverlapOfTwoConnectionsDropsDuplicates) {
  StreamSequencer seq;
  std::uint64_t gaps = 0;
  // The old connection (1) is live; its replacement (2) opens and both carry
  // the same events for a while.
  EXPECT_EQ(seq.observe(0, 1, key(100, 10), 10, gaps), Verdict::deliver);
  EXPECT_EQ(seq.observe(0, 1, key(101, 11), 11, gaps), Verdict::deliver);
  EXPECT_EQ(seq.observe(0, 2, key(101, 11), 11, gaps), Verdict::duplicate);
  EXPECT_EQ(seq.observe(0, 2, key(102, 12), 12, gaps), Verdict::deliver);
  EXPECT_EQ(seq.observe(0, 1, key(102, 12), 12, gaps), Verdict::duplicate);
  EXPECT_EQ(seq.observe(0, 1, key(103, 13), 13, gaps), Verdict::deliver);
  EXPECT_EQ(seq.observe(0, 2, key(103, 13), 13, gaps), Verdict::duplicate);
  seq.connection_closed(1);
  EXPECT_EQ(seq.observe(0, 2, key(104, 14), 14, gaps), Verdict::deliver);
  EXPECT_EQ(gaps, 0u);  // duplicates are neither gaps nor repeats
}

// A replacement subscribed just after trade 11 was sent shows 12 before the
// old connection has shown 11: delivering 12 would lose 11 for good.
TEST(StreamSequencer, NewcomerAheadOfTheOwnerWaitsUntilItIsCaughtUp) {
  StreamSequencer seq;
  std::uint64_t gaps = 0;
  EXPECT_EQ(seq.observe(0, 1, key(100, 10), 10, gaps), Verdict::deliver);
  EXPECT_EQ(seq.observe(0, 2, key(102, 12), 12, gaps), Verdict::duplicate);
  EXPECT_EQ(seq.observe(0, 2, key(103, 13), 13, gaps), Verdict::duplicate);
  EXPECT_FALSE(seq.handed_over(1, 2));
  EXPECT_EQ(seq.observe(0, 1, key(101, 11), 11, gaps), Verdict::deliver);
  EXPECT_EQ(seq.observe(0, 1, key(102, 12), 12, gaps), Verdict::deliver);
  // 2 has shown 13, which 1 has not: closing 1 now would lose it.
  EXPECT_FALSE(seq.handed_over(1, 2));
  EXPECT_EQ(seq.observe(0, 1, key(103, 13), 13, gaps), Verdict::deliver);
  // Everything 2 has shown is delivered: its next event follows.
  EXPECT_TRUE(seq.handed_over(1, 2));
  EXPECT_EQ(seq.observe(0, 2, key(104, 14), 14, gaps), Verdict::deliver);
  EXPECT_EQ(seq.observe(0, 1, key(104, 14), 14, gaps), Verdict::duplicate);
  // Whichever is first now delivers: both are caught up.
  EXPECT_EQ(seq.observe(0, 1, key(105, 15), 15, gaps), Verdict::deliver);
  EXPECT_EQ(seq.observe(0, 2, key(106, 16), 16, gaps), Verdict::deliver);
  EXPECT_EQ(gaps, 0u);
}

TEST(StreamSequencer, NewcomerTakesOverWhenTheOwnerEndsBeforeItCaughtUp) {
  StreamSequencer seq;
  std::uint64_t gaps = 0;
  EXPECT_EQ(seq.observe(0, 1, key(100, 10), 10, gaps), Verdict::deliver);
  EXPECT_EQ(seq.observe(0, 2, key(102, 12), 12, gaps), Verdict::duplicate);
  seq.connection_closed(1);
  // 11 is lost with the owner; the gap is counted, not hidden.
  EXPECT_EQ(seq.observe(0, 2, key(103, 13), 13, gaps), Verdict::deliver);
  EXPECT_EQ(gaps, 1u);
  EXPECT_EQ(seq.observe(0, 2, key(104, 14), 14, gaps), Verdict::deliver);
}

// Three redundant sources (edges over several ingest relays): once caught
// up, each may deliver first; when the owner dies the others go on at once.
TEST(StreamSequencer, ThreeCaughtUpConnectionsEachDeliverFirst) {
  StreamSequencer seq;
  std::uint64_t gaps = 0;
  EXPECT_EQ(seq.observe(0, 1, key(100, 10), 10, gaps), Verdict::deliver);
  EXPECT_EQ(seq.observe(0, 2, key(100, 10), 10, gaps), Verdict::duplicate);
  EXPECT_EQ(seq.observe(0, 3, key(100, 10), 10, gaps), Verdict::duplicate);
  EXPECT_EQ(seq.observe(0, 2, key(101, 11), 11, gaps), Verdict::deliver);
  EXPECT_EQ(seq.observe(0, 3, key(102, 12), 12, gaps), Verdict::deliver);
  EXPECT_EQ(seq.observe(0, 1, key(101, 11), 11, gaps), Verdict::duplicate);
  EXPECT_EQ(seq.observe(0, 1, key(103, 13), 13, gaps), Verdict::deliver);
  seq.connection_closed(1);
  EXPECT_EQ(seq.observe(0, 2, key(104, 14), 14, gaps), Verdict::deliver);
  EXPECT_EQ(seq.observe(0, 3, key(105, 15), 15, gaps), Verdict::deliver);
  EXPECT_EQ(gaps, 0u);
}

TEST(StreamSequencer, HandedOverLooksOnlyAtTheStreamsTheOldConnectionOwns) {
  StreamSequencer seq;
  std::uint64_t gaps = 0;
  seq.observe(0, 1, key(100, 10), 10, gaps);
  seq.observe(1, 3, key(100, 10), 10, gaps);
  EXPECT_FALSE(seq.handed_over(1, 2));
  EXPECT_EQ(seq.observe(0, 2, key(100, 10), 10, gaps), Verdict::duplicate);
  EXPECT_TRUE(seq.handed_over(1, 2));
  // Stream 1 belongs to 3, which 2 has not shown: 3 is not handed over.
  EXPECT_FALSE(seq.handed_over(3, 2));
  // Keyless streams can never be proven caught up.
  seq.observe(2, 1, EventKey{}, -1, gaps);
  EXPECT_FALSE(seq.handed_over(1, 2));
}

TEST(StreamSequencer, OlderEventsAreDuplicates) {
  StreamSequencer seq;
  std::uint64_t gaps = 0;
  EXPECT_EQ(seq.observe(0, 1, key(200), -1, gaps), Verdict::deliver);
  EXPECT_EQ(seq.observe(0, 2, key(150), -1, gaps), Verdict::duplicate);
  EXPECT_EQ(seq.observe(0, 2, key(200), -1, gaps), Verdict::duplicate);
  EXPECT_EQ(seq.observe(0, 2, key(201), -1, gaps), Verdict::deliver);
}

TEST(StreamSequencer, KeysCompareEventTimeThenSequence) {
  StreamSequencer seq;
  std::uint64_t gaps = 0;
  EXPECT_EQ(seq.observe(0, 1, key(100, 5), -1, gaps), Verdict::deliver);
  // Same millisecond, later trade: new.
  EXPECT_EQ(seq.observe(0, 1, key(100, 6), -1, gaps), Verdict::deliver);
  EXPECT_EQ(seq.observe(0, 2, key(100, 6), -1, gaps), Verdict::duplicate);
  EXPECT_EQ(seq.observe(0, 2, key(100, 5), -1, gaps), Verdict::duplicate);
  // Earlier time with a higher id is still older.
  EXPECT_EQ(seq.observe(0, 2, key(99, 50), -1, gaps), Verdict::duplicate);
  EXPECT_EQ(seq.observe(0, 2, key(101, 1), -1, gaps), Verdict::deliver);
}

TEST(StreamSequencer, SequenceOnlyKeys) {
  // Spot bookTicker: no E, only u.
  StreamSequencer seq;
  std::uint64_t gaps = 0;
  EXPECT_EQ(seq.observe(0, 1, key(0, 400900217), -1, gaps), Verdict::deliver);
  EXPECT_EQ(seq.observe(0, 2, key(0, 400900217), -1, gaps), Verdict::duplicate);
  EXPECT_EQ(seq.observe(0, 2, key(0, 400900230), -1, gaps), Verdict::deliver);
  EXPECT_EQ(seq.observe(0, 1, key(0, 400900220), -1, gaps), Verdict::duplicate);
  EXPECT_EQ(gaps, 0u);  // u jumps, but it is not a gap id
}

TEST(StreamSequencer, KeylessStreamsFollowOneOwner) {
  StreamSequencer seq;
  std::uint64_t gaps = 0;
  EXPECT_EQ(seq.observe(0, 1, EventKey{}, -1, gaps), Verdict::deliver);
  EXPECT_EQ(seq.observe(0, 2, EventKey{}, -1, gaps), Verdict::duplicate);
  EXPECT_EQ(seq.observe(0, 1, EventKey{}, -1, gaps), Verdict::deliver);
  EXPECT_EQ(seq.observe(0, 2, EventKey{}, -1, gaps), Verdict::duplicate);
  seq.connection_closed(1);
  // The next connection to deliver takes over ...
  EXPECT_EQ(seq.observe(0, 2, EventKey{}, -1, gaps), Verdict::deliver);
  // ... and keeps it against newcomers.
  EXPECT_EQ(seq.observe(0, 3, EventKey{}, -1, gaps), Verdict::duplicate);
  EXPECT_EQ(seq.observe(0, 2, EventKey{}, -1, gaps), Verdict::deliver);
}

TEST(StreamSequencer, ClosingAnotherConnectionKeepsTheOwner) {
  StreamSequencer seq;
  std::uint64_t gaps = 0;
  EXPECT_EQ(seq.observe(0, 1, EventKey{}, -1, gaps), Verdict::deliver);
  seq.connection_closed(2);
  EXPECT_EQ(seq.observe(0, 2, EventKey{}, -1, gaps), Verdict::duplicate);
  seq.connection_closed(5);
  EXPECT_EQ(seq.observe(0, 1, EventKey{}, -1, gaps), Verdict::deliver);
}

TEST(StreamSequencer, StreamsAreIndependent) {
  StreamSequencer seq;
  std::uint64_t gaps = 0;
  EXPECT_EQ(seq.observe(0, 1, key(100), -1, gaps), Verdict::deliver);
  EXPECT_EQ(seq.observe(1, 2, key(50), -1, gaps), Verdict::deliver);
  EXPECT_EQ(seq.observe(5000, 2, EventKey{}, -1, gaps), Verdict::deliver);
  EXPECT_EQ(seq.observe(7, 3, EventKey{}, -1, gaps), Verdict::deliver);
  EXPECT_EQ(seq.observe(5000, 1, EventKey{}, -1, gaps), Verdict::duplicate);
  EXPECT_EQ(seq.observe(1, 1, key(50), -1, gaps), Verdict::duplicate);
  // Closing a connection frees only the streams it owned.
  seq.connection_closed(2);
  EXPECT_EQ(seq.observe(5000, 1, EventKey{}, -1, gaps), Verdict::deliver);
  EXPECT_EQ(seq.observe(7, 1, EventKey{}, -1, gaps), Verdict::duplicate);
}

TEST(StreamSequencer, GapsCountJumpsOfTheGapIdOnly) {
  StreamSequencer seq;
  std::uint64_t gaps = 0;
  EXPECT_EQ(seq.observe(0, 1, key(100, 1), 1, gaps), Verdict::deliver);
  EXPECT_EQ(seq.observe(0, 1, key(100, 2), 2, gaps), Verdict::deliver);
  EXPECT_EQ(gaps, 0u);
  // Event time jumps a lot but the id grows by one: no gap.
  EXPECT_EQ(seq.observe(0, 1, key(5000, 3), 3, gaps), Verdict::deliver);
  EXPECT_EQ(gaps, 0u);
  // Two trades missed.
  EXPECT_EQ(seq.observe(0, 1, key(5001, 6), 6, gaps), Verdict::deliver);
  EXPECT_EQ(gaps, 1u);
  EXPECT_EQ(seq.observe(0, 1, key(5002, 7), 7, gaps), Verdict::deliver);
  EXPECT_EQ(gaps, 1u);
  // A jump of a thousand counts once, not a thousand times.
  EXPECT_EQ(seq.observe(0, 1, key(5003, 1007), 1007, gaps), Verdict::deliver);
  EXPECT_EQ(gaps, 2u);
}

TEST(StreamSequencer, FirstGapIdIsNeverAGap) {
  StreamSequencer seq;
  std::uint64_t gaps = 0;
  EXPECT_EQ(seq.observe(3, 1, key(1, 12345), 12345, gaps), Verdict::deliver);
  EXPECT_EQ(gaps, 0u);
}

TEST(StreamSequencer, NoGapIdNoGaps) {
  StreamSequencer seq;
  std::uint64_t gaps = 0;
  for (std::int64_t e : {1, 5, 100, 1000}) EXPECT_EQ(seq.observe(0, 1, key(e, e * 7), -1, gaps), Verdict::deliver);
  EXPECT_EQ(gaps, 0u);
}

TEST(StreamSequencer, GapsAddToTheCallersCounter) {
  StreamSequencer seq;
  std::uint64_t gaps = 40;
  seq.observe(0, 1, key(1, 1), 1, gaps);
  seq.observe(0, 1, key(2, 3), 3, gaps);
  EXPECT_EQ(gaps, 41u);
}

TEST(StreamSequencer, DuplicateWithAJumpedIdIsNotAGap) {
  StreamSequencer seq;
  std::uint64_t gaps = 0;
  seq.observe(0, 1, key(100, 10), 10, gaps);
  seq.observe(0, 1, key(101, 11), 11, gaps);
  // The new connection replays an old trade: dropped, and not a gap.
  EXPECT_EQ(seq.observe(0, 2, key(90, 5), 5, gaps), Verdict::duplicate);
  EXPECT_EQ(seq.observe(0, 1, key(102, 12), 12, gaps), Verdict::deliver);
  EXPECT_EQ(gaps, 0u);
}

// Ids come from the upstream as sent: the largest int64 must not overflow the
// "next id" check (undefined behaviour, caught by the sanitizer builds).
TEST(StreamSequencer, LargestIdIsNotAnOverflow) {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  StreamSequencer seq;
  std::uint64_t gaps = 0;
  EXPECT_EQ(seq.observe(0, 1, key(1, kMax - 1), kMax - 1, gaps), Verdict::deliver);
  EXPECT_EQ(seq.observe(0, 1, key(2, kMax), kMax, gaps), Verdict::deliver);
  EXPECT_EQ(gaps, 0u);
  // After the largest id anything is a jump, counted once.
  EXPECT_EQ(seq.observe(0, 1, key(3, 0), 0, gaps), Verdict::deliver);
  EXPECT_EQ(gaps, 1u);
  EXPECT_EQ(seq.observe(0, 1, key(4, kMax), kMax, gaps), Verdict::deliver);
  EXPECT_EQ(seq.observe(0, 1, key(5, kMax), kMax, gaps), Verdict::deliver);
  EXPECT_EQ(gaps, 3u);
}

}  // namespace
}  // namespace tickrelay::upstream
