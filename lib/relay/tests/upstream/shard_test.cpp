#include "upstream/shard.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "fake_connection.hpp"
#include "tickrelay/fanout/relay_counters.hpp"
#include "tickrelay/fanout/router.hpp"
#include "tickrelay/fanout/stream_name.hpp"
#include "tickrelay/wire/duration.hpp"
#include "upstream/ingest.hpp"
#include "upstream/rate_window.hpp"
#include "upstream/upstream_link.hpp"

namespace tickrelay::upstream {
namespace {

using test::agg_trade;
using test::FakeConnection;
using test::run_ready;
using test::run_until;

constexpr const char* kStream = "btcusdt@aggTrade";

// Zero backoff and, where asked, zero connection age: every timer is due at
// once, so the test advances by running ready handlers, never by waiting.
config::UpstreamConfig upstream_config(double age_seconds) {
  config::UpstreamConfig c;
  c.name = "sim";
  c.url = "ws://127.0.0.1:9";
  c.product = config::Product::usdm_futures;
  c.streams = {kStream};
  c.reconnect_base_seconds = 0;
  c.reconnect_cap_seconds = 0;
  c.max_connection_age_seconds = age_seconds;
  return c;
}

class ShardTest : public ::testing::Test {
 protected:
  explicit ShardTest(double age_seconds = 3600)
      : config_(upstream_config(age_seconds)),
        link_(make_upstream_link(config_)),
        opens_(config_.connection_rate_count, wire::to_duration(config_.connection_rate_window_seconds)) {
    const auto name = fanout::parse_stream_name(kStream);
    router_.add_stream(kStream, name->kind, false);
  }

  std::shared_ptr<Shard> make_shard(std::size_t index = 0) {
    return std::make_shared<Shard>(ioc_, factory_, ingest_, link_, opens_, reconnects_,
                                   Backoff(0, 0, [] { return 0.0; }), log_, index, "/market",
                                   std::vector<std::string>{kStream}, [this] { ++idle_calls_; });
  }
  std::uint64_t reconnects(EndReason reason) const { return reconnects_[static_cast<std::size_t>(reason)]; }
  FakeConnection& made(std::size_t i) { return *factory_.made.at(i); }

  net::io_context ioc_;
  fanout::Router router_;
  fanout::RelayCounters counters_;
  spdlog::logger log_{"test", std::make_shared<spdlog::sinks::null_sink_st>()};
  Ingest ingest_{router_, counters_};
  test::FakeConnectionFactory factory_;
  config::UpstreamConfig config_;
  UpstreamLink link_;
  RateWindow opens_;
  ReconnectCounts reconnects_{};
  int idle_calls_ = 0;
};

class RotatingShardTest : public ShardTest {
 protected:
  RotatingShardTest() : ShardTest(0) {}
};

TEST_F(ShardTest, OpensOneConnectionOnTheShardsPath) {
  auto shard = make_shard();
  shard->start();
  ASSERT_EQ(factory_.made.size(), 1u);
  EXPECT_TRUE(made(0).started());
  EXPECT_EQ(made(0).spec().target.host, "127.0.0.1");
  EXPECT_EQ(made(0).spec().target.request_target, "/market/stream?streams=btcusdt@aggTrade");
  EXPECT_FALSE(shard->connected());
  made(0).open();
  EXPECT_TRUE(shard->connected());
}

TEST_F(ShardTest, LostConnectionIsReplacedAndCountedWithItsReason) {
  auto shard = make_shard();
  shard->start();
  made(0).open();
  made(0).deliver(agg_trade(kStream, 1000, 1));
  made(0).finish(EndReason::read_error);
  EXPECT_FALSE(shard->connected());
  EXPECT_EQ(reconnects(EndReason::read_error), 1u);
  run_ready(ioc_);
  ASSERT_EQ(factory_.made.size(), 2u);
  EXPECT_TRUE(made(1).started());
  made(1).open();
  EXPECT_TRUE(shard->connected());

  // A failed attempt is replaced too, and counted under its own reason.
  made(1).finish(EndReason::stall);
  run_ready(ioc_);
  ASSERT_EQ(factory_.made.size(), 3u);
  EXPECT_EQ(reconnects(EndReason::stall), 1u);
  made(2).finish(EndReason::connect_failed);
  run_ready(ioc_);
  EXPECT_EQ(factory_.made.size(), 4u);
  EXPECT_EQ(reconnects(EndReason::connect_failed), 1u);
  EXPECT_EQ(router_.published(), 1u);
}

TEST_F(RotatingShardTest, RotationOpensTheNewConnectionBeforeClosingTheOldAndPublishesEachEventOnce) {
  auto shard = make_shard();
  shard->start();
  made(0).open();
  made(0).deliver(agg_trade(kStream, 1000, 1));
  made(0).deliver(agg_trade(kStream, 1001, 2));
  run_ready(ioc_);  // the connection is at its age limit
  ASSERT_EQ(factory_.made.size(), 2u);
  EXPECT_EQ(reconnects(EndReason::rotation), 1u);
  EXPECT_FALSE(made(0).closed_with());
  made(1).open();
  EXPECT_FALSE(made(0).closed_with());  // open is not enough: its first event is
  made(0).deliver(agg_trade(kStream, 1002, 3));
  // The new connection replays what the old one delivered, then goes on;
  // having shown an event already delivered, it has caught up.
  made(1).deliver(agg_trade(kStream, 1001, 2));
  ASSERT_TRUE(run_until(ioc_, [&] { return made(0).closed_with().has_value(); }));
  EXPECT_EQ(made(0).closed_with(), EndReason::rotation);
  made(1).deliver(agg_trade(kStream, 1002, 3));
  made(1).deliver(agg_trade(kStream, 1003, 4));
  EXPECT_EQ(router_.published(), 4u);
  EXPECT_EQ(counters_.upstream_duplicates, 2u);
  EXPECT_TRUE(shard->connected());
  EXPECT_EQ(reconnects(EndReason::read_error), 0u);
}

TEST_F(ShardTest, ServerShutdownRotatesAtOnce) {
  auto shard = make_shard();
  shard->start();
  made(0).open();
  made(0).deliver(agg_trade(kStream, 1000, 1));
  made(0).deliver(R"({"e":"serverShutdown","E":1001})");
  ASSERT_EQ(factory_.made.size(), 2u);  // no timer in between
  EXPECT_EQ(reconnects(EndReason::server_shutdown), 1u);
  EXPECT_FALSE(made(0).closed_with());
  made(1).open();
  made(1).deliver(agg_trade(kStream, 1002, 2));
  made(0).deliver(agg_trade(kStream, 1002, 2));
  ASSERT_TRUE(run_until(ioc_, [&] { return made(0).closed_with().has_value(); }));
  EXPECT_EQ(made(0).closed_with(), EndReason::rotation);
  EXPECT_EQ(router_.published(), 2u);
}

// The replacement subscribed just after trade 2 was sent: its first event is
// 3 while the old connection still has 2 to show. Taking over at 3 and
// closing the old one would lose 2.
TEST_F(ShardTest, OldConnectionServesUntilTheReplacementHasCaughtUp) {
  auto shard = make_shard();
  shard->start();
  made(0).open();
  made(0).deliver(agg_trade(kStream, 1000, 1));
  made(0).deliver(R"({"e":"serverShutdown","E":1001})");
  ASSERT_EQ(factory_.made.size(), 2u);
  made(1).open();
  made(1).deliver(agg_trade(kStream, 1003, 3));
  made(1).deliver(agg_trade(kStream, 1004, 4));
  EXPECT_EQ(router_.published(), 1u);
  // It stays open whatever runs meanwhile (the drain checks come and go).
  run_until(ioc_, [] { return false; }, std::chrono::milliseconds(200));
  EXPECT_FALSE(made(0).closed_with());
  made(0).deliver(agg_trade(kStream, 1002, 2));
  made(0).deliver(agg_trade(kStream, 1003, 3));
  made(0).deliver(agg_trade(kStream, 1004, 4));
  ASSERT_TRUE(run_until(ioc_, [&] { return made(0).closed_with().has_value(); }));
  EXPECT_EQ(made(0).closed_with(), EndReason::rotation);
  made(1).deliver(agg_trade(kStream, 1005, 5));
  EXPECT_EQ(router_.published(), 5u);  // 1 to 4 from the old connection, 5 from the new
  EXPECT_EQ(counters_.upstream_gaps[static_cast<std::size_t>(fanout::StreamKind::agg_trade)], 0u);
}

TEST_F(ShardTest, ReplacementLostMidRotationIsRetriedWhileTheOldOneServes) {
  auto shard = make_shard();
  shard->start();
  made(0).open();
  made(0).deliver(R"({"e":"serverShutdown","E":1001})");
  ASSERT_EQ(factory_.made.size(), 2u);
  made(1).finish(EndReason::handshake_failed);
  EXPECT_TRUE(shard->connected());
  run_ready(ioc_);
  ASSERT_EQ(factory_.made.size(), 3u);
  made(2).open();
  made(2).deliver(agg_trade(kStream, 1002, 2));
  ASSERT_TRUE(run_until(ioc_, [&] { return made(0).closed_with().has_value(); }));
  EXPECT_EQ(made(0).closed_with(), EndReason::rotation);
}

TEST_F(ShardTest, ConnectionRateLimitDefersOpens) {
  opens_.configure(1, std::chrono::hours(1));
  auto first = make_shard(0);
  auto second = make_shard(1);
  first->start();
  second->start();
  run_ready(ioc_);
  ASSERT_EQ(factory_.made.size(), 1u);  // the second waits for the window
  // A reconnect waits too.
  made(0).open();
  made(0).finish(EndReason::closed_by_server);
  run_ready(ioc_);
  EXPECT_EQ(factory_.made.size(), 1u);
  EXPECT_FALSE(first->connected());
  EXPECT_EQ(reconnects(EndReason::closed_by_server), 1u);
  // Stopped while waiting: nothing opens later, and the shard is idle.
  second->stop();
  EXPECT_EQ(idle_calls_, 1);
}

TEST_F(ShardTest, StopClosesEveryConnectionAndReportsIdleOnceTheyEnd) {
  factory_.hold_close = true;
  auto shard = make_shard();
  shard->start();
  made(0).open();
  made(0).deliver(R"({"e":"serverShutdown","E":1001})");
  ASSERT_EQ(factory_.made.size(), 2u);
  made(1).open();
  shard->stop();
  EXPECT_EQ(made(0).closed_with(), EndReason::stopped);
  EXPECT_EQ(made(1).closed_with(), EndReason::stopped);
  EXPECT_EQ(idle_calls_, 0);  // both still closing
  made(0).finish(EndReason::stopped);
  EXPECT_FALSE(shard->idle());
  made(1).finish(EndReason::stopped);
  EXPECT_TRUE(shard->idle());
  EXPECT_GE(idle_calls_, 1);
  run_ready(ioc_);
  EXPECT_EQ(factory_.made.size(), 2u);  // and nothing reconnects
  EXPECT_EQ(reconnects(EndReason::stopped), 0u);
}

TEST_F(ShardTest, StreamsAddedAndRemovedAreSubscribedOnTheOpenConnection) {
  auto shard = make_shard();
  shard->start();
  made(0).open();
  shard->add_streams({"ethusdt@aggTrade"});
  const auto removed = shard->keep_only({"ethusdt@aggTrade"});
  EXPECT_EQ(removed, std::vector<std::string>{kStream});
  EXPECT_EQ(shard->streams(), std::vector<std::string>{"ethusdt@aggTrade"});
  ASSERT_EQ(made(0).sent().size(), 2u);
  EXPECT_EQ(made(0).sent()[0], R"({"method":"SUBSCRIBE","params":["ethusdt@aggTrade"],"id":1})");
  EXPECT_EQ(made(0).sent()[1], R"({"method":"UNSUBSCRIBE","params":["btcusdt@aggTrade"],"id":2})");
}

TEST_F(ShardTest, StreamsAddedTogetherLeaveInOneSubscribePerTwoHundred) {
  auto shard = make_shard();
  shard->start();
  made(0).open();
  std::vector<std::string> names;
  for (int i = 0; i < 450; ++i) names.push_back("s" + std::to_string(i) + "usdt@aggTrade");
  shard->add_streams(names);
  EXPECT_EQ(shard->streams().size(), 451u);
  ASSERT_EQ(made(0).sent().size(), 3u);
  EXPECT_NE(made(0).sent()[0].find(R"(["s0usdt@aggTrade",)"), std::string::npos);
  EXPECT_NE(made(0).sent()[0].find(R"("s199usdt@aggTrade"],"id":1})"), std::string::npos);
  EXPECT_NE(made(0).sent()[2].find(R"(["s400usdt@aggTrade",)"), std::string::npos);
  EXPECT_NE(made(0).sent()[2].find(R"("s449usdt@aggTrade"],"id":3})"), std::string::npos);
}

TEST_F(ShardTest, StreamsAddedBeforeStartJoinTheUrl) {
  auto shard = make_shard();
  shard->add_streams({"ethusdt@aggTrade"});
  shard->start();
  EXPECT_NE(made(0).spec().target.request_target.find("btcusdt@aggTrade/ethusdt@aggTrade"), std::string::npos)
      << made(0).spec().target.request_target;
  EXPECT_TRUE(made(0).sent().empty());
}

}  // namespace
}  // namespace tickrelay::upstream
