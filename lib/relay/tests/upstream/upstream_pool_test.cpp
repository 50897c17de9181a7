#include "upstream/upstream_pool.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <fstream>

#include "fake_connection.hpp"
#include "tickrelay/fanout/stream_name.hpp"

namespace tickrelay::upstream {
namespace {

using test::agg_trade;
using test::run_ready;

config::UpstreamConfig upstream(const std::string& url, std::vector<std::string> streams = {"btcusdt@aggTrade"}) {
  config::UpstreamConfig c;
  c.name = "sim";
  c.url = url;
  c.product = config::Product::usdm_futures;
  c.streams = std::move(streams);
  c.reconnect_base_seconds = 0;
  c.reconnect_cap_seconds = 0;
  return c;
}

class UpstreamPoolTest : public ::testing::Test {
 protected:
  bool carried(const std::string& name) const {
    const auto id = router_.find(name);
    return id != fanout::kNoStream && router_.carried(id);
  }

  net::io_context ioc_;
  fanout::Router router_;
  fanout::RelayCounters counters_;
  spdlog::logger log_{"test", std::make_shared<spdlog::sinks::null_sink_st>()};
  test::FakeConnectionFactory factory_;
  UpstreamPool pool_{
      ioc_, factory_, router_, counters_, log_, [](fanout::StreamKind) { return false; }, [] { return 0.0; }};
};

TEST_F(UpstreamPoolTest, ShardsOpenThroughTheFactoryAndMessagesReachTheRouter) {
  pool_.start({upstream("ws://127.0.0.1:9", {"btcusdt@aggTrade", "btcusdt@bookTicker"})});
  ASSERT_EQ(factory_.made.size(), 2u);  // /market and /public
  EXPECT_EQ(pool_.total_shards(), 2u);
  EXPECT_EQ(pool_.connected_shards(), 0u);
  factory_.made[0]->open();
  factory_.made[0]->deliver(agg_trade("btcusdt@aggTrade", 1000, 1));
  EXPECT_EQ(pool_.connected_shards(), 1u);
  EXPECT_EQ(router_.published(), 1u);
  const auto status = pool_.shard_status();
  ASSERT_EQ(status.size(), 2u);
  EXPECT_EQ(status[0].upstream, "sim");
  EXPECT_TRUE(status[0].connected);
  EXPECT_FALSE(status[1].connected);
  factory_.made[0]->finish(EndReason::stall);
  const auto ups = pool_.upstream_status();
  ASSERT_EQ(ups.size(), 1u);
  EXPECT_EQ(ups[0].reconnects[static_cast<std::size_t>(EndReason::stall)], 1u);
}

TEST_F(UpstreamPoolTest, RepeatedReloadsThatReplaceAnUpstreamDoNotAccumulateIt) {
  factory_.hold_close = true;
  pool_.start({upstream("ws://127.0.0.1:9")});
  factory_.made.back()->open();
  for (int i = 0; i < 5; ++i) {
    const auto before = factory_.made.size();
    // A new port: a new link, so the upstream is stopped and started again.
    pool_.apply({upstream("ws://127.0.0.1:" + std::to_string(10 + i))});
    ASSERT_EQ(factory_.made.size(), before + 1);
    auto& old = *factory_.made[before - 1];
    EXPECT_EQ(old.closed_with(), EndReason::stopped);
    run_ready(ioc_);
    EXPECT_EQ(pool_.retired_count(), 1u);  // its connection is still closing
    old.finish(EndReason::stopped);
    run_ready(ioc_);
    EXPECT_EQ(pool_.retired_count(), 0u);
    factory_.made.back()->open();
    EXPECT_EQ(pool_.connected_shards(), 1u);
  }
  EXPECT_TRUE(carried("btcusdt@aggTrade"));
}

TEST_F(UpstreamPoolTest, StreamsChangeInPlaceWhenTheLinkStays) {
  pool_.start({upstream("ws://127.0.0.1:9", {"btcusdt@aggTrade", "ethusdt@aggTrade"})});
  factory_.made[0]->open();
  const auto retired = pool_.apply({upstream("ws://127.0.0.1:9", {"ethusdt@aggTrade", "bnbusdt@aggTrade"})});
  EXPECT_EQ(factory_.made.size(), 1u);
  ASSERT_EQ(retired.size(), 1u);
  EXPECT_EQ(router_.name(retired[0]), "btcusdt@aggTrade");
  EXPECT_FALSE(carried("btcusdt@aggTrade"));
  EXPECT_TRUE(carried("bnbusdt@aggTrade"));
  EXPECT_EQ(factory_.made[0]->sent().size(), 2u);  // UNSUBSCRIBE, SUBSCRIBE
  EXPECT_EQ(pool_.retired_count(), 0u);
}

TEST_F(UpstreamPoolTest, ReloadWithACaFileThatIsNotACertificateChangesNothing) {
  const std::string bad = ::testing::TempDir() + "not-a-certificate.pem";
  std::ofstream(bad) << "this is not a certificate\n";
  auto good = upstream("wss://localhost:9");
  pool_.start({good});
  ASSERT_EQ(factory_.made.size(), 1u);
  factory_.made[0]->open();

  auto next = good;
  next.tls.ca_file = bad;
  next.streams.push_back("ethusdt@aggTrade");
  EXPECT_THROW(pool_.apply({next}), std::runtime_error);
  // The running upstream still runs, with its streams.
  EXPECT_FALSE(factory_.made[0]->closed_with());
  EXPECT_EQ(factory_.made.size(), 1u);
  EXPECT_EQ(pool_.connected_shards(), 1u);
  EXPECT_EQ(pool_.retired_count(), 0u);
  EXPECT_TRUE(carried("btcusdt@aggTrade"));
  EXPECT_FALSE(carried("ethusdt@aggTrade"));
  factory_.made[0]->deliver(agg_trade("btcusdt@aggTrade", 1000, 1));
  EXPECT_EQ(router_.published(), 1u);
  std::remove(bad.c_str());
}

TEST_F(UpstreamPoolTest, OnDemandStreamJoinsTheOpenShard) {
  pool_.start({upstream("ws://127.0.0.1:9")});
  factory_.made[0]->open();
  std::string error;
  const auto id = pool_.add_on_demand("ethusdt@aggTrade", error);
  EXPECT_NE(id, fanout::kNoStream) << error;
  EXPECT_EQ(factory_.made.size(), 1u);
  ASSERT_EQ(factory_.made[0]->sent().size(), 1u);
  EXPECT_NE(factory_.made[0]->sent()[0].find("ethusdt@aggTrade"), std::string::npos);
  EXPECT_EQ(pool_.add_on_demand("not a stream", error), fanout::kNoStream);
}

// A relay read as upstream allows 5 messages a second, as Binance does: a
// reload's added streams go out together, not one SUBSCRIBE each.
TEST_F(UpstreamPoolTest, StreamsAddedByAReloadLeaveInOneSubscribePerConnection) {
  std::vector<std::string> streams = {"btcusdt@aggTrade"};
  pool_.start({upstream("ws://127.0.0.1:9", streams)});
  factory_.made[0]->open();
  for (int i = 0; i < 30; ++i) streams.push_back("s" + std::to_string(i) + "usdt@aggTrade");
  pool_.apply({upstream("ws://127.0.0.1:9", streams)});
  EXPECT_EQ(factory_.made.size(), 1u);
  ASSERT_EQ(factory_.made[0]->sent().size(), 1u);
  EXPECT_NE(factory_.made[0]->sent()[0].find(R"({"method":"SUBSCRIBE","params":["s0usdt@aggTrade",)"),
            std::string::npos);
  EXPECT_NE(factory_.made[0]->sent()[0].find(R"("s29usdt@aggTrade"])"), std::string::npos);
  for (const auto& s : streams) EXPECT_TRUE(carried(s)) << s;
}

TEST_F(UpstreamPoolTest, StreamsPastTheConnectionLimitOpenANewShardWithThemInItsUrl) {
  auto config = upstream("ws://127.0.0.1:9", {"btcusdt@aggTrade"});
  config.max_streams_per_connection = 2;
  pool_.start({config});
  factory_.made[0]->open();
  config.streams = {"btcusdt@aggTrade", "ethusdt@aggTrade", "bnbusdt@aggTrade", "xrpusdt@aggTrade"};
  pool_.apply({config});
  EXPECT_EQ(pool_.total_shards(), 2u);
  ASSERT_EQ(factory_.made.size(), 2u);
  EXPECT_EQ(factory_.made[0]->sent(),
            std::vector<std::string>{R"({"method":"SUBSCRIBE","params":["ethusdt@aggTrade"],"id":1})"});
  EXPECT_NE(factory_.made[1]->spec().target.request_target.find("bnbusdt@aggTrade/xrpusdt@aggTrade"), std::string::npos)
      << factory_.made[1]->spec().target.request_target;
  EXPECT_TRUE(factory_.made[1]->sent().empty());
}

}  // namespace
}  // namespace tickrelay::upstream
