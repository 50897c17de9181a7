#include "upstream/rate_window.hpp"

#include <gtest/gtest.h>

namespace tickrelay::upstream {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using TP = RateWindow::Clock::time_point;

const TP t0 = TP{} + std::chrono::hours(1);

TEST(RateWindow, AllowsUpToCountAtOnce) {
  RateWindow w(300, seconds(300));
  for (int i = 0; i < 300; ++i) {
    ASSERT_EQ(w.next_allowed(t0), t0) << i;
    w.record(t0);
  }
  // The 301st waits until the first ages out of the window.
  EXPECT_EQ(w.next_allowed(t0), t0 + seconds(300));
  EXPECT_EQ(w.next_allowed(t0 + seconds(299)), t0 + seconds(300));
  EXPECT_EQ(w.next_allowed(t0 + seconds(300)), t0 + seconds(300));
}

TEST(RateWindow, SlotsFreeInTheOrderTheyWereTaken) {
  RateWindow w(3, seconds(10));
  w.record(t0);
  w.record(t0 + seconds(1));
  w.record(t0 + seconds(2));
  EXPECT_EQ(w.next_allowed(t0 + seconds(3)), t0 + seconds(10));
  EXPECT_EQ(w.next_allowed(t0 + seconds(10)), t0 + seconds(10));
  w.record(t0 + seconds(10));
  // Now holding 1, 2, 10: the next slot frees when the event at 1 ages out.
  EXPECT_EQ(w.next_allowed(t0 + seconds(10)), t0 + seconds(11));
  EXPECT_EQ(w.next_allowed(t0 + milliseconds(10999)), t0 + seconds(11));
  EXPECT_EQ(w.next_allowed(t0 + seconds(11)), t0 + seconds(11));
}

TEST(RateWindow, SpreadOutEventsNeverWait) {
  RateWindow w(300, seconds(300));
  // One event a second stays under 300 per 300 s forever.
  for (int i = 0; i < 2000; ++i) {
    const TP now = t0 + seconds(i);
    ASSERT_EQ(w.next_allowed(now), now) << i;
    w.record(now);
  }
}

TEST(RateWindow, BurstThenPaced) {
  RateWindow w(300, seconds(300));
  TP now = t0;
  int opened = 0;
  // Open 600 connections as fast as allowed: 300 at once, then 300 more the
  // moment the first burst ages out of the window.
  for (int i = 0; i < 600; ++i) {
    now = w.next_allowed(now);
    w.record(now);
    ++opened;
    if (i < 300) {
      ASSERT_EQ(now, t0) << i;
    }
  }
  EXPECT_EQ(opened, 600);
  EXPECT_EQ(now, t0 + seconds(300));  // the whole first burst aged out at once
  // The 601st must wait until the second burst ages out.
  EXPECT_EQ(w.next_allowed(now), t0 + seconds(600));
}

TEST(RateWindow, ConfigureShrinksAndGrowsTheLimit) {
  RateWindow w(5, seconds(60));
  for (int i = 0; i < 3; ++i) w.record(t0 + seconds(i));
  EXPECT_EQ(w.next_allowed(t0 + seconds(3)), t0 + seconds(3));
  w.configure(2, seconds(60));
  // Three held, two allowed: wait for the second-oldest to age out.
  EXPECT_EQ(w.next_allowed(t0 + seconds(3)), t0 + seconds(61));
  w.configure(2, seconds(30));
  EXPECT_EQ(w.next_allowed(t0 + seconds(3)), t0 + seconds(31));
  w.configure(10, seconds(30));
  EXPECT_EQ(w.next_allowed(t0 + seconds(3)), t0 + seconds(3));
}

TEST(RateWindow, NextAllowedIsNotARecord) {
  RateWindow w(1, seconds(5));
  EXPECT_EQ(w.next_allowed(t0), t0);
  EXPECT_EQ(w.next_allowed(t0), t0);
  w.record(t0);
  EXPECT_EQ(w.next_allowed(t0), t0 + seconds(5));
}

// REST request weight: a spot depth snapshot of 1000 levels weighs 50.
TEST(RateWindow, WeightsCountAgainstTheWindow) {
  RateWindow w(120, seconds(60));
  w.record(t0, 50);
  w.record(t0 + seconds(10), 50);
  EXPECT_EQ(w.used(t0 + seconds(10)), 100u);
  EXPECT_EQ(w.next_allowed(t0 + seconds(10), 20), t0 + seconds(10));
  // 50 more would pass 120: once the first 50 ages out.
  EXPECT_EQ(w.next_allowed(t0 + seconds(10), 50), t0 + seconds(60));
  // 100 needs both to age out.
  EXPECT_EQ(w.next_allowed(t0 + seconds(10), 100), t0 + seconds(70));
  EXPECT_EQ(w.used(t0 + seconds(60)), 50u);
  EXPECT_TRUE(w.idle(t0 + seconds(70)));
  // Heavier than the window: allowed once the window is empty.
  EXPECT_EQ(w.next_allowed(t0 + seconds(70), 500), t0 + seconds(70));
}

}  // namespace
}  // namespace tickrelay::upstream
