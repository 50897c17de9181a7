#include "upstream/reload_plan.hpp"

#include <gtest/gtest.h>

namespace tickrelay::upstream {
namespace {

using Streams = std::vector<std::string>;

config::UpstreamConfig upstream(const std::string& name, Streams streams) {
  config::UpstreamConfig c;
  c.name = name;
  c.url = "wss://fstream.binance.com";
  c.product = config::Product::usdm_futures;
  c.streams = std::move(streams);
  return c;
}

TEST(ReloadPlan, UntouchedUpstreamIsKeptWithNothingToDo) {
  const std::vector running{upstream("a", {"btcusdt@aggTrade", "ethusdt@aggTrade"})};
  const auto plan = plan_reload(running, running);
  EXPECT_TRUE(plan.stop.empty());
  EXPECT_TRUE(plan.start.empty());
  ASSERT_EQ(plan.keep.size(), 1u);
  EXPECT_EQ(plan.keep[0].name, "a");
  EXPECT_EQ(plan.keep[0].config, 0u);
  EXPECT_TRUE(plan.keep[0].add.empty());
  EXPECT_TRUE(plan.keep[0].remove.empty());
  EXPECT_FALSE(plan.keep[0].limits_changed);
}

TEST(ReloadPlan, AddedUpstreamIsStarted) {
  const std::vector running{upstream("a", {"btcusdt@aggTrade"})};
  const std::vector next{upstream("b", {"ethusdt@aggTrade"}), upstream("a", {"btcusdt@aggTrade"})};
  const auto plan = plan_reload(running, next);
  EXPECT_TRUE(plan.stop.empty());
  EXPECT_EQ(plan.start, std::vector<std::size_t>{0});
  ASSERT_EQ(plan.keep.size(), 1u);
  EXPECT_EQ(plan.keep[0].config, 1u);
}

TEST(ReloadPlan, RemovedUpstreamIsStoppedAndItsStreamsRetired) {
  const std::vector running{upstream("a", {"btcusdt@aggTrade"}), upstream("b", {"ethusdt@aggTrade"})};
  const std::vector next{upstream("a", {"btcusdt@aggTrade"})};
  const auto plan = plan_reload(running, next);
  ASSERT_EQ(plan.stop.size(), 1u);
  EXPECT_EQ(plan.stop[0].name, "b");
  EXPECT_EQ(plan.stop[0].retire, Streams{"ethusdt@aggTrade"});
  EXPECT_TRUE(plan.start.empty());
  EXPECT_EQ(plan.keep.size(), 1u);
}

TEST(ReloadPlan, ChangedLinkRestartsTheUpstreamAndRetiresOnlyStreamsItDrops) {
  const auto old = upstream("a", {"btcusdt@aggTrade", "ethusdt@aggTrade"});
  std::vector<config::UpstreamConfig> changes;
  auto url = old;
  url.url = "wss://fstream.binance.com:443";
  changes.push_back(url);
  auto ca = old;
  ca.tls.ca_file = "/etc/tickrelay/ca.pem";
  changes.push_back(ca);
  auto verify = old;
  verify.tls.verify = false;
  changes.push_back(verify);
  auto product = old;
  product.product = config::Product::spot;
  changes.push_back(product);
  auto micro = old;
  micro.microsecond_time = true;
  changes.push_back(micro);
  auto per = old;
  per.max_streams_per_connection = 1;
  changes.push_back(per);
  for (auto next : changes) {
    next.streams = {"ethusdt@aggTrade", "bnbusdt@aggTrade"};
    const auto plan = plan_reload({old}, {next});
    ASSERT_EQ(plan.stop.size(), 1u);
    EXPECT_EQ(plan.stop[0].name, "a");
    EXPECT_EQ(plan.stop[0].retire, Streams{"btcusdt@aggTrade"});
    EXPECT_EQ(plan.start, std::vector<std::size_t>{0});
    EXPECT_TRUE(plan.keep.empty());
    EXPECT_FALSE(same_link(old, next));
  }
}

TEST(ReloadPlan, StreamDiffsOfAKeptUpstream) {
  const std::vector running{upstream("a", {"btcusdt@aggTrade", "ethusdt@aggTrade", "xrpusdt@aggTrade"})};
  const std::vector next{upstream("a", {"solusdt@aggTrade", "ethusdt@aggTrade", "bnbusdt@aggTrade"})};
  const auto plan = plan_reload(running, next);
  EXPECT_TRUE(plan.stop.empty());
  EXPECT_TRUE(plan.start.empty());
  ASSERT_EQ(plan.keep.size(), 1u);
  EXPECT_EQ(plan.keep[0].add, (Streams{"solusdt@aggTrade", "bnbusdt@aggTrade"}));
  EXPECT_EQ(plan.keep[0].remove, (Streams{"btcusdt@aggTrade", "xrpusdt@aggTrade"}));
  EXPECT_FALSE(plan.keep[0].limits_changed);
}

TEST(ReloadPlan, ChangedLimitsAreReconfiguredInPlace) {
  const auto old = upstream("a", {"btcusdt@aggTrade"});
  auto next = old;
  next.connection_rate_count = 10;
  next.reconnect_cap_seconds = 5;
  const auto plan = plan_reload({old}, {next});
  EXPECT_TRUE(plan.stop.empty());
  EXPECT_TRUE(plan.start.empty());
  ASSERT_EQ(plan.keep.size(), 1u);
  EXPECT_TRUE(plan.keep[0].limits_changed);
  EXPECT_TRUE(same_link(old, next));
}

}  // namespace
}  // namespace tickrelay::upstream
