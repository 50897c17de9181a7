#include "upstream/backoff.hpp"

#include <gtest/gtest.h>

namespace tickrelay::upstream {
namespace {

TEST(Backoff, ZeroDrawGivesZeroDelay) {
  Backoff b(0.5, 30, [] { return 0.0; });
  for (int i = 0; i < 10; ++i) EXPECT_EQ(b.next(), 0.0);
  EXPECT_EQ(b.attempt(), 10u);
}

TEST(Backoff, HighDrawStaysJustUnderTheCeiling) {
  Backoff b(0.5, 30, [] { return 0.999; });
  EXPECT_DOUBLE_EQ(b.ceiling(), 0.5);
  const double d = b.next();
  EXPECT_LT(d, 0.5);
  EXPECT_DOUBLE_EQ(d, 0.4995);
}

TEST(Backoff, CeilingDoublesPerFailure) {
  double draw = 0.999;
  Backoff b(0.5, 1000, [&] { return draw; });
  const double expected[] = {0.5, 1, 2, 4, 8, 16, 32, 64};
  for (double ceiling : expected) {
    EXPECT_DOUBLE_EQ(b.ceiling(), ceiling);
    const double d = b.next();
    EXPECT_DOUBLE_EQ(d, 0.999 * ceiling);
    EXPECT_LT(d, ceiling);
    EXPECT_GE(d, 0.0);
  }
  EXPECT_EQ(b.attempt(), 8u);
}

TEST(Backoff, FullJitterUsesTheDrawLinearly) {
  double draw = 0.25;
  Backoff b(1, 100, [&] { return draw; });
  EXPECT_DOUBLE_EQ(b.next(), 0.25);  // ceiling 1
  draw = 0.5;
  EXPECT_DOUBLE_EQ(b.next(), 1.0);  // ceiling 2
  draw = 0.75;
  EXPECT_DOUBLE_EQ(b.next(), 3.0);  // ceiling 4
}

TEST(Backoff, CapLimitsTheCeiling) {
  Backoff b(0.5, 30, [] { return 0.999; });
  for (int i = 0; i < 6; ++i) b.next();  // ceilings 0.5 .. 16
  EXPECT_DOUBLE_EQ(b.ceiling(), 30);     // 32 capped
  for (int i = 0; i < 200; ++i) {
    const double d = b.next();
    EXPECT_LT(d, 30);
    EXPECT_DOUBLE_EQ(d, 0.999 * 30);
  }
  // Many failures never overflow into inf or nan.
  EXPECT_DOUBLE_EQ(b.ceiling(), 30);
}

TEST(Backoff, ResetStartsOver) {
  Backoff b(0.5, 30, [] { return 0.999; });
  b.next();
  b.next();
  b.next();
  EXPECT_DOUBLE_EQ(b.ceiling(), 4);
  b.reset();
  EXPECT_EQ(b.attempt(), 0u);
  EXPECT_DOUBLE_EQ(b.ceiling(), 0.5);
  EXPECT_DOUBLE_EQ(b.next(), 0.999 * 0.5);
}

TEST(Backoff, DrawsOncePerCall) {
  int calls = 0;
  Backoff b(1, 10, [&] {
    ++calls;
    return 0.5;
  });
  b.next();
  b.next();
  EXPECT_EQ(calls, 2);
  (void)b.ceiling();
  b.reset();
  EXPECT_EQ(calls, 2);
}

TEST(Backoff, ConfigureKeepsTheAttemptCount) {
  Backoff b(0.5, 30, [] { return 0.999; });
  b.next();
  b.next();  // attempt 2
  b.configure(1, 3);
  EXPECT_EQ(b.attempt(), 2u);
  EXPECT_DOUBLE_EQ(b.ceiling(), 3);  // 1 * 4 capped at 3
  b.configure(0.1, 100);
  EXPECT_DOUBLE_EQ(b.ceiling(), 0.4);
}

TEST(Backoff, CapBelowBaseWins) {
  Backoff b(10, 2, [] { return 0.5; });
  EXPECT_DOUBLE_EQ(b.ceiling(), 2);
  EXPECT_DOUBLE_EQ(b.next(), 1);
}

}  // namespace
}  // namespace tickrelay::upstream
