#include "fault_plan.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace tickrelay::sim {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const Clock::time_point kStart = Clock::time_point{} + std::chrono::hours(1000);

FaultPlan plan_with(FaultSettings settings) { return FaultPlan(std::move(settings), kStart); }

TEST(FaultPlan, NoFaultsRunsUntilMaxAge) {
  auto plan = plan_with({});
  auto c = plan.open("/ws/btcusdt@trade", kStart);
  auto check = plan.check(c, kStart + seconds(10));
  EXPECT_EQ(check.verdict, ConnectionVerdict::run);
  EXPECT_EQ(check.recheck_at, kStart + std::chrono::hours(24));
  EXPECT_EQ(plan.check(c, kStart + std::chrono::hours(24)).verdict, ConnectionVerdict::close_max_age);
  for (int i = 0; i < 1000; ++i) {
    const auto frame = plan.on_frame(c);
    ASSERT_FALSE(frame.malformed);
    ASSERT_FALSE(frame.drop_after);
  }
  EXPECT_TRUE(plan.admit("/ws", kStart));
  EXPECT_FALSE(plan.skips(100, Endpoint::spot));
}

TEST(FaultPlan, MaxAgeAppliesEvenOutsideTheTarget) {
  FaultSettings s;
  s.max_connection_age = seconds(5);
  s.target_path = "/market";
  auto plan = plan_with(s);
  auto c = plan.open("/ws/btcusdt@trade", kStart + seconds(1));
  EXPECT_FALSE(c.targeted);
  EXPECT_EQ(plan.check(c, kStart + seconds(5)).verdict, ConnectionVerdict::run);
  EXPECT_EQ(plan.check(c, kStart + seconds(6)).verdict, ConnectionVerdict::close_max_age);
}

TEST(FaultPlan, DropEveryCountsFromEachConnectionsOpening) {
  FaultSettings s;
  s.drop_every = seconds(30);
  auto plan = plan_with(s);
  auto first = plan.open("/stream", kStart);
  auto later = plan.open("/stream", kStart + seconds(20));
  EXPECT_EQ(plan.check(first, kStart + seconds(29)).recheck_at, kStart + seconds(30));
  EXPECT_EQ(plan.check(first, kStart + seconds(30)).verdict, ConnectionVerdict::drop);
  EXPECT_EQ(plan.check(later, kStart + seconds(30)).verdict, ConnectionVerdict::run);
  EXPECT_EQ(plan.check(later, kStart + seconds(50)).verdict, ConnectionVerdict::drop);
}

TEST(FaultPlan, DropAfterEventsMarksTheNthFrame) {
  FaultSettings s;
  s.drop_after_events = 3;
  auto plan = plan_with(s);
  auto c = plan.open("/ws", kStart);
  EXPECT_FALSE(plan.on_frame(c).drop_after);
  EXPECT_FALSE(plan.on_frame(c).drop_after);
  EXPECT_TRUE(plan.on_frame(c).drop_after);
}

TEST(FaultPlan, StallWindow) {
  FaultSettings s;
  s.stall_after = seconds(10);
  s.stall_for = seconds(5);
  auto plan = plan_with(s);
  auto c = plan.open("/ws", kStart);
  auto check = plan.check(c, kStart + seconds(9));
  EXPECT_EQ(check.verdict, ConnectionVerdict::run);
  EXPECT_EQ(check.recheck_at, kStart + seconds(10));
  check = plan.check(c, kStart + seconds(10));
  EXPECT_EQ(check.verdict, ConnectionVerdict::stall);
  EXPECT_EQ(check.recheck_at, kStart + seconds(15));
  EXPECT_EQ(plan.check(c, kStart + seconds(15)).verdict, ConnectionVerdict::run);
}

TEST(FaultPlan, StallForZeroIsForever) {
  FaultSettings s;
  s.stall_after = Micros{0};
  auto plan = plan_with(s);
  auto c = plan.open("/ws", kStart);
  EXPECT_EQ(plan.check(c, kStart).verdict, ConnectionVerdict::stall);
  const auto check = plan.check(c, kStart + std::chrono::hours(23));
  EXPECT_EQ(check.verdict, ConnectionVerdict::stall);
  EXPECT_EQ(check.recheck_at, kStart + std::chrono::hours(24));  // only max age ends it
}

TEST(FaultPlan, ShutdownNoticeOnceThenCloseAfterGrace) {
  FaultSettings s;
  s.shutdown_after = seconds(60);
  auto plan = plan_with(s);
  auto c = plan.open("/ws", kStart);
  EXPECT_EQ(plan.check(c, kStart + seconds(59)).recheck_at, kStart + seconds(60));
  const auto notice = plan.check(c, kStart + seconds(60));
  EXPECT_EQ(notice.verdict, ConnectionVerdict::send_shutdown);
  EXPECT_EQ(notice.recheck_at, kStart + seconds(60) + kShutdownGrace);
  EXPECT_TRUE(c.shutdown_sent);
  EXPECT_EQ(plan.check(c, kStart + seconds(60) + milliseconds(500)).verdict, ConnectionVerdict::run);
  EXPECT_EQ(plan.check(c, kStart + seconds(61)).verdict, ConnectionVerdict::close_after_shutdown);
}

TEST(FaultPlan, LateTimerTakesTheEarliestFaultFirst) {
  FaultSettings s;
  s.shutdown_after = seconds(10);
  s.drop_every = seconds(20);
  auto plan = plan_with(s);
  auto c = plan.open("/ws", kStart);
  // The timer fires late, after everything: the notice still goes first.
  const auto first = plan.check(c, kStart + seconds(30));
  EXPECT_EQ(first.verdict, ConnectionVerdict::send_shutdown);
  EXPECT_LE(first.recheck_at, kStart + seconds(30));
  EXPECT_EQ(plan.check(c, kStart + seconds(30)).verdict, ConnectionVerdict::close_after_shutdown);
}

TEST(FaultPlan, ClosesStillHappenDuringAStall) {
  FaultSettings s;
  s.stall_after = seconds(1);
  s.drop_every = seconds(5);
  auto plan = plan_with(s);
  auto c = plan.open("/ws", kStart);
  EXPECT_EQ(plan.check(c, kStart + seconds(2)).verdict, ConnectionVerdict::stall);
  EXPECT_EQ(plan.check(c, kStart + seconds(2)).recheck_at, kStart + seconds(5));
  EXPECT_EQ(plan.check(c, kStart + seconds(5)).verdict, ConnectionVerdict::drop);
}

TEST(FaultPlan, MalformedEveryNthFrameCyclesThroughKinds) {
  FaultSettings s;
  s.malformed_every = 3;
  auto plan = plan_with(s);
  auto c = plan.open("/stream", kStart);
  std::vector<MalformedKind> seen;
  for (int frame = 1; frame <= 18; ++frame) {
    const auto decision = plan.on_frame(c);
    if (frame % 3 == 0) {
      ASSERT_TRUE(decision.malformed) << frame;
      seen.push_back(*decision.malformed);
    } else {
      ASSERT_FALSE(decision.malformed) << frame;
    }
  }
  EXPECT_EQ(seen, (std::vector<MalformedKind>{MalformedKind::truncated_json, MalformedKind::not_json,
                                              MalformedKind::unsubscribed_stream, MalformedKind::missing_stream,
                                              MalformedKind::wrong_types, MalformedKind::truncated_json}));
}

TEST(FaultPlan, MalformedKindsCycleThroughTheNamedKindsOnly) {
  FaultSettings s;
  s.malformed_every = 2;
  s.malformed_kinds = {MalformedKind::binary_frame, MalformedKind::empty_frame};
  auto plan = plan_with(s);
  auto c = plan.open("/stream", kStart);
  std::vector<MalformedKind> seen;
  for (int frame = 1; frame <= 6; ++frame) {
    if (const auto decision = plan.on_frame(c); decision.malformed) seen.push_back(*decision.malformed);
  }
  EXPECT_EQ(seen, (std::vector<MalformedKind>{MalformedKind::binary_frame, MalformedKind::empty_frame,
                                              MalformedKind::binary_frame}));
  EXPECT_EQ(malformed_kind_named("deep_nesting"), MalformedKind::deep_nesting);
  EXPECT_EQ(malformed_kind_named("deep"), std::nullopt);
}

TEST(FaultPlan, RefuseForCountsFromStart) {
  FaultSettings s;
  s.refuse_for = seconds(10);
  auto plan = plan_with(s);
  EXPECT_FALSE(plan.admit("/ws", kStart));
  EXPECT_FALSE(plan.admit("/ws", kStart + seconds(9)));
  EXPECT_TRUE(plan.admit("/ws", kStart + seconds(10)));
}

TEST(FaultPlan, RefuseFirstCountsAttempts) {
  FaultSettings s;
  s.refuse_first = 2;
  auto plan = plan_with(s);
  EXPECT_FALSE(plan.admit("/ws", kStart));
  EXPECT_FALSE(plan.admit("/ws", kStart));
  EXPECT_TRUE(plan.admit("/ws", kStart));
  EXPECT_TRUE(plan.admit("/ws", kStart));
}

TEST(FaultPlan, TargetPathRestrictsConnectionFaults) {
  FaultSettings s;
  s.target_path = "/market";
  s.refuse_first = 1;
  s.drop_every = seconds(1);
  s.malformed_every = 1;
  auto plan = plan_with(s);
  EXPECT_TRUE(plan.admit("/public/ws/btcusdt@bookTicker", kStart));  // not counted either
  EXPECT_FALSE(plan.admit("/market/ws/btcusdt@kline_1h", kStart));
  EXPECT_TRUE(plan.admit("/market/ws/btcusdt@kline_1h", kStart));

  auto spot = plan.open("/stream?streams=btcusdt@trade", kStart);
  auto market = plan.open("/market/stream?streams=btcusdt@kline_1h", kStart);
  EXPECT_FALSE(spot.targeted);
  EXPECT_TRUE(market.targeted);
  EXPECT_EQ(plan.check(spot, kStart + seconds(2)).verdict, ConnectionVerdict::run);
  EXPECT_FALSE(plan.on_frame(spot).malformed);
  EXPECT_EQ(plan.check(market, kStart + seconds(2)).verdict, ConnectionVerdict::drop);
  EXPECT_TRUE(plan.on_frame(market).malformed);
}

TEST(FaultPlan, SkipsEveryNthEventPerStream) {
  FaultSettings s;
  s.skip_every = 4;
  auto plan = plan_with(s);
  std::vector<std::uint64_t> skipped;
  for (std::uint64_t n = 1; n <= 12; ++n) {
    if (plan.skips(n, Endpoint::spot)) skipped.push_back(n);
  }
  EXPECT_EQ(skipped, (std::vector<std::uint64_t>{4, 8, 12}));
}

TEST(FaultPlan, SkipFollowsTheTargetsEndpoints) {
  FaultSettings s;
  s.skip_every = 1;
  s.target_path = "/market";
  auto market = plan_with(s);
  EXPECT_TRUE(market.skips(1, Endpoint::usdm_market));
  EXPECT_FALSE(market.skips(1, Endpoint::usdm_public));
  EXPECT_FALSE(market.skips(1, Endpoint::spot));
  s.target_path = "/ws";
  auto raw_spot = plan_with(s);
  EXPECT_TRUE(raw_spot.skips(1, Endpoint::spot));
  EXPECT_FALSE(raw_spot.skips(1, Endpoint::usdm_market));
  s.target_path = "/";
  auto everything = plan_with(s);
  EXPECT_TRUE(everything.skips(1, Endpoint::spot));
  EXPECT_TRUE(everything.skips(1, Endpoint::usdm_public));
}

TEST(FaultPlan, VerdictNames) {
  EXPECT_EQ(to_string(ConnectionVerdict::drop), "drop");
  EXPECT_EQ(to_string(ConnectionVerdict::close_after_shutdown), "close_after_shutdown");
  EXPECT_EQ(to_string(MalformedKind::wrong_types), "wrong_types");
}

}  // namespace
}  // namespace tickrelay::sim
