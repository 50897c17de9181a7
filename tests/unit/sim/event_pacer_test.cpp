#include "event_pacer.hpp"

#include <gtest/gtest.h>

#include <map>

namespace tickrelay::sim {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::seconds;

const Clock::time_point kT0 = Clock::time_point{} + std::chrono::hours(1000);

// Calls take_due every `tick` from kT0 up to `span`; returns the total.
std::uint64_t run(EventPacer& pacer, Micros tick, Micros span) {
  std::uint64_t total = 0;
  for (Micros t = tick; t <= span; t += tick) total += pacer.take_due(kT0 + t);
  return total;
}

TEST(EventPacer, NothingDueAtStartThenOneEveryPeriod) {
  EventPacer pacer(1000);
  pacer.add_stream(1, kT0);
  EXPECT_EQ(pacer.take_due(kT0), 0u);
  EXPECT_EQ(pacer.take_due(kT0 + microseconds(999)), 0u);
  EXPECT_EQ(pacer.take_due(kT0 + milliseconds(1)), 1u);  // event 1 at t0 + 1/N
  EXPECT_EQ(pacer.take_due(kT0 + milliseconds(1)), 0u);
  EXPECT_EQ(pacer.take_due(kT0 + microseconds(3500)), 2u);
}

TEST(EventPacer, OnePerSecond) {
  EventPacer pacer(1);
  pacer.add_stream(1, kT0);
  EXPECT_EQ(run(pacer, milliseconds(1), seconds(10)), 10u);
  EXPECT_EQ(pacer.dropped(), 0u);
}

TEST(EventPacer, ExactCountsAcrossRatesWithMillisecondTicks) {
  for (std::uint64_t rate : {1ULL, 7ULL, 1000ULL, 33'333ULL, 1'000'000ULL, 2'000'000ULL, 5'000'000ULL}) {
    EventPacer pacer(rate);
    pacer.add_stream(1, kT0);
    EXPECT_EQ(run(pacer, milliseconds(1), seconds(2)), 2 * rate) << rate;
    EXPECT_EQ(pacer.dropped(), 0u) << rate;
  }
}

TEST(EventPacer, SmoothNotBursty) {
  // 2,000,000/s polled every millisecond: 2000 per call, every call.
  EventPacer pacer(2'000'000);
  pacer.add_stream(1, kT0);
  for (int ms = 1; ms <= 100; ++ms) ASSERT_EQ(pacer.take_due(kT0 + milliseconds(ms)), 2000u);
  // A rate that does not divide evenly alternates between floor and ceil.
  EventPacer odd(1500);
  odd.add_stream(1, kT0);
  for (int ms = 1; ms <= 100; ++ms) {
    const auto due = odd.take_due(kT0 + milliseconds(ms));
    ASSERT_TRUE(due == 1 || due == 2) << due;
  }
}

TEST(EventPacer, StallBeyondTheCapDropsTheBacklog) {
  EventPacer pacer(100'000, milliseconds(10));  // cap: 1000 events per call
  pacer.add_stream(1, kT0);
  EXPECT_EQ(pacer.take_due(kT0 + milliseconds(1)), 100u);
  // Descheduled for half a second: 50,000 due, only 10 ms worth is sent.
  EXPECT_EQ(pacer.take_due(kT0 + milliseconds(501)), 1000u);
  EXPECT_EQ(pacer.dropped(), 49'000u);
  // Then the schedule carries on at the normal pace, no catch-up.
  EXPECT_EQ(pacer.take_due(kT0 + milliseconds(502)), 100u);
  EXPECT_EQ(pacer.emitted(), 1200u);
}

TEST(EventPacer, ShortHiccupIsMadeUp) {
  EventPacer pacer(100'000, milliseconds(10));
  pacer.add_stream(1, kT0);
  EXPECT_EQ(pacer.take_due(kT0 + milliseconds(8)), 800u);
  EXPECT_EQ(pacer.dropped(), 0u);
}

TEST(EventPacer, CapIsAtLeastOneEvent) {
  EventPacer pacer(1, milliseconds(10));
  pacer.add_stream(1, kT0);
  EXPECT_EQ(pacer.take_due(kT0 + seconds(5)), 1u);
  EXPECT_EQ(pacer.dropped(), 4u);
}

TEST(EventPacer, RateZeroPausesAndResumesWithoutBurst) {
  EventPacer pacer(1000);
  pacer.add_stream(1, kT0);
  EXPECT_EQ(pacer.take_due(kT0 + milliseconds(10)), 10u);
  pacer.set_rate(0, kT0 + milliseconds(10));
  EXPECT_EQ(pacer.take_due(kT0 + seconds(10)), 0u);
  EXPECT_EQ(pacer.next_due(), Clock::time_point::max());
  pacer.set_rate(1000, kT0 + seconds(10));
  EXPECT_EQ(pacer.take_due(kT0 + seconds(10) + milliseconds(5)), 5u);
  EXPECT_EQ(pacer.dropped(), 0u);
}

TEST(EventPacer, NoStreamsNoDebt) {
  EventPacer pacer(1000);
  EXPECT_EQ(pacer.take_due(kT0 + seconds(1)), 0u);
  pacer.add_stream(3, kT0 + seconds(5));  // idle time before is not owed
  EXPECT_EQ(pacer.take_due(kT0 + seconds(5) + milliseconds(2)), 2u);
  EXPECT_TRUE(pacer.remove_stream(3));
  EXPECT_EQ(pacer.take_due(kT0 + seconds(9)), 0u);
  EXPECT_EQ(pacer.dropped(), 0u);
}

TEST(EventPacer, NextDueIsWhenTheNextEventFalls) {
  EventPacer pacer(3);
  pacer.add_stream(1, kT0);
  EXPECT_EQ(pacer.next_due(), kT0 + microseconds(333'334));  // ceil(1/3 s)
  EXPECT_EQ(pacer.take_due(pacer.next_due()), 1u);
  EXPECT_EQ(pacer.next_due(), kT0 + microseconds(666'667));
  EXPECT_EQ(pacer.take_due(kT0 + microseconds(666'666)), 0u);
  EXPECT_EQ(pacer.take_due(pacer.next_due()), 1u);
  EXPECT_EQ(pacer.next_due(), kT0 + seconds(1));
}

TEST(EventPacer, RoundRobinGivesEveryStreamItsShare) {
  EventPacer pacer(10'000);
  for (StreamId s : {10u, 20u, 30u, 40u}) EXPECT_TRUE(pacer.add_stream(s, kT0));
  EXPECT_FALSE(pacer.add_stream(20, kT0));
  std::map<StreamId, int> counts;
  for (int ms = 1; ms <= 1000; ++ms) {
    const auto due = pacer.take_due(kT0 + milliseconds(ms));
    for (std::uint64_t i = 0; i < due; ++i) ++counts[pacer.next_stream()];
  }
  EXPECT_EQ(counts.size(), 4u);
  for (const auto& [stream, count] : counts) EXPECT_EQ(count, 2500) << stream;
}

TEST(EventPacer, RemovingAStreamKeepsTheTurnOrder) {
  EventPacer pacer(1);
  for (StreamId s : {1u, 2u, 3u, 4u}) pacer.add_stream(s, kT0);
  EXPECT_EQ(pacer.next_stream(), 1u);
  EXPECT_EQ(pacer.next_stream(), 2u);
  EXPECT_TRUE(pacer.remove_stream(1));  // behind the cursor
  EXPECT_EQ(pacer.next_stream(), 3u);
  EXPECT_TRUE(pacer.remove_stream(4));  // the next one
  EXPECT_EQ(pacer.next_stream(), 2u);
  EXPECT_FALSE(pacer.remove_stream(4));
  EXPECT_EQ(pacer.next_stream(), 3u);
  pacer.add_stream(5, kT0);  // joins at the end of the round
  EXPECT_EQ(pacer.next_stream(), 2u);
  EXPECT_EQ(pacer.next_stream(), 3u);
  EXPECT_EQ(pacer.next_stream(), 5u);
  EXPECT_EQ(pacer.stream_count(), 3u);
}

TEST(EventPacer, LongUptimeStaysExact) {
  EventPacer pacer(2'000'000);
  pacer.add_stream(1, kT0);
  const auto year = std::chrono::hours(24 * 365);
  EXPECT_EQ(pacer.take_due(kT0 + year - milliseconds(1)), 20'000u);  // cap: 10 ms worth
  EXPECT_EQ(pacer.take_due(kT0 + year), 2000u);
}

}  // namespace
}  // namespace tickrelay::sim
