#include "tickrelay/relay/shard_plan.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <stdexcept>
#include <string>

#include "tickrelay/fanout/stream_name.hpp"

namespace tickrelay::upstream {
namespace {

using Streams = std::vector<std::string>;

config::UpstreamConfig upstream(config::Product product, Streams streams, std::size_t per = 200) {
  config::UpstreamConfig up;
  up.name = "test";
  up.product = product;
  up.streams = std::move(streams);
  up.max_streams_per_connection = per;
  return up;
}

Streams study_streams() {
  // The 346 USDT pairs the original study streamed as <pair>@kline_1h.
  Streams streams;
  std::ifstream in(std::string(TICKRELAY_SOURCE_DIR) + "/config/usdt-pairs.txt");
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) streams.push_back(fanout::normalize_symbol(line) + "@kline_1h");
  }
  return streams;
}

TEST(ShardPlan, StudyWorkloadMakesTwoShards) {
  const auto streams = study_streams();
  ASSERT_EQ(streams.size(), 346u);
  const auto shards = plan_shards(upstream(config::Product::usdm_futures, streams, 200));
  ASSERT_EQ(shards.size(), 2u);
  EXPECT_EQ(shards[0].path, "/market");
  EXPECT_EQ(shards[1].path, "/market");
  EXPECT_EQ(shards[0].streams.size(), 200u);
  EXPECT_EQ(shards[1].streams.size(), 146u);
  // Config order kept across shards.
  Streams joined = shards[0].streams;
  joined.insert(joined.end(), shards[1].streams.begin(), shards[1].streams.end());
  EXPECT_EQ(joined, streams);
}

TEST(ShardPlan, ShardSizesAtTheBoundary) {
  Streams streams;
  for (int i = 0; i < 400; ++i) streams.push_back("s" + std::to_string(i) + "@kline_1h");
  EXPECT_EQ(plan_shards(upstream(config::Product::usdm_futures, streams, 200)).size(), 2u);
  streams.push_back("extra@kline_1h");
  const auto shards = plan_shards(upstream(config::Product::usdm_futures, streams, 200));
  ASSERT_EQ(shards.size(), 3u);
  EXPECT_EQ(shards[2].streams, (Streams{"extra@kline_1h"}));
  EXPECT_EQ(plan_shards(upstream(config::Product::usdm_futures, streams, 1024)).size(), 1u);
  EXPECT_EQ(plan_shards(upstream(config::Product::usdm_futures, {"a@kline_1h", "b@kline_1h"}, 1)).size(), 2u);
}

TEST(ShardPlan, NoStreamsNoShards) { EXPECT_TRUE(plan_shards(upstream(config::Product::spot, {})).empty()); }

TEST(ShardPlan, MixedFuturesStreamsSplitByPath) {
  const auto shards = plan_shards(upstream(config::Product::usdm_futures,
                                           {"btcusdt@kline_1h", "btcusdt@bookTicker", "ethusdt@kline_1h",
                                            "ethusdt@depth5@100ms", "btcusdt@markPrice@1s", "!bookTicker"},
                                           200));
  ASSERT_EQ(shards.size(), 2u);
  // Paths in first-seen order, config order within each.
  EXPECT_EQ(shards[0].path, "/market");
  EXPECT_EQ(shards[0].streams, (Streams{"btcusdt@kline_1h", "ethusdt@kline_1h", "btcusdt@markPrice@1s"}));
  EXPECT_EQ(shards[1].path, "/public");
  EXPECT_EQ(shards[1].streams, (Streams{"btcusdt@bookTicker", "ethusdt@depth5@100ms", "!bookTicker"}));
}

TEST(ShardPlan, PublicFirstWhenSeenFirst) {
  const auto shards = plan_shards(
      upstream(config::Product::usdm_futures, {"a@bookTicker", "b@bookTicker", "c@bookTicker", "a@kline_1m"}, 2));
  ASSERT_EQ(shards.size(), 3u);
  EXPECT_EQ(shards[0].path, "/public");
  EXPECT_EQ(shards[0].streams, (Streams{"a@bookTicker", "b@bookTicker"}));
  EXPECT_EQ(shards[1].path, "/public");
  EXPECT_EQ(shards[1].streams, (Streams{"c@bookTicker"}));
  EXPECT_EQ(shards[2].path, "/market");
}

TEST(ShardPlan, SpotUsesTheRoot) {
  const auto shards = plan_shards(upstream(config::Product::spot, {"btcusdt@trade", "btcusdt@bookTicker"}));
  ASSERT_EQ(shards.size(), 1u);
  EXPECT_EQ(shards[0].path, "");
  EXPECT_EQ(shards[0].streams.size(), 2u);
}

TEST(ShardPlan, UnroutableStreamsThrow) {
  EXPECT_THROW(plan_shards(upstream(config::Product::usdm_futures, {"btcusdt@avgPrice"})), std::invalid_argument);
  EXPECT_THROW(plan_shards(upstream(config::Product::spot, {"not a stream"})), std::invalid_argument);
  EXPECT_EQ(route_or_throw(upstream(config::Product::usdm_futures, {}), "btcusdt@bookTicker"), "/public");
  EXPECT_EQ(route_or_throw(upstream(config::Product::usdm_futures, {}), "btcusdt@kline_1h"), "/market");
  EXPECT_EQ(route_or_throw(upstream(config::Product::spot, {}), "btcusdt@trade"), "");
  try {
    route_or_throw(upstream(config::Product::usdm_futures, {}), "btcusdt@avgPrice");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("usdm-futures"), std::string::npos) << e.what();
  }
}

TEST(ShardPlan, CombinedTargetAllFit) {
  Streams overflow{"stale"};
  const auto target = combined_target("/market", {"a@kline_1h", "b@kline_1h"}, false, kUrlStreamBudget, overflow);
  EXPECT_EQ(target, "/market/stream?streams=a@kline_1h/b@kline_1h");
  EXPECT_TRUE(overflow.empty());  // cleared, not appended to
}

TEST(ShardPlan, CombinedTargetWithMicroseconds) {
  Streams overflow;
  EXPECT_EQ(combined_target("", {"btcusdt@trade"}, true, kUrlStreamBudget, overflow),
            "/stream?streams=btcusdt@trade&timeUnit=MICROSECOND");
  EXPECT_EQ(combined_target("/public", {}, true, kUrlStreamBudget, overflow),
            "/public/stream?streams=&timeUnit=MICROSECOND");
}

TEST(ShardPlan, CombinedTargetOverflowGoesToSubscribe) {
  // Each name is 10 bytes; with its separator it takes 11 of the budget.
  const Streams streams{"aaaa@trade", "bbbb@trade", "cccc@trade", "dddd@trade"};
  Streams overflow;
  auto target = combined_target("", streams, false, 22, overflow);
  EXPECT_EQ(target, "/stream?streams=aaaa@trade/bbbb@trade");
  EXPECT_EQ(overflow, (Streams{"cccc@trade", "dddd@trade"}));

  target = combined_target("", streams, true, 21, overflow);
  EXPECT_EQ(target, "/stream?streams=aaaa@trade&timeUnit=MICROSECOND");
  EXPECT_EQ(overflow, (Streams{"bbbb@trade", "cccc@trade", "dddd@trade"}));
}

TEST(ShardPlan, CombinedTargetAlwaysHoldsTheFirstStream) {
  Streams overflow;
  const auto target = combined_target("", {"longstreamname@trade", "b@trade"}, false, 5, overflow);
  EXPECT_EQ(target, "/stream?streams=longstreamname@trade");
  EXPECT_EQ(overflow, (Streams{"b@trade"}));
}

TEST(ShardPlan, CombinedTargetForTheStudyWorkloadStaysUnderTheBudget) {
  const auto streams = study_streams();
  const auto shards = plan_shards(upstream(config::Product::usdm_futures, streams, 200));
  ASSERT_FALSE(shards.empty());
  Streams overflow;
  const auto target = combined_target(shards[0].path, shards[0].streams, true, kUrlStreamBudget, overflow);
  const std::string head = "/market/stream?streams=";
  ASSERT_EQ(target.rfind(head, 0), 0u);
  const auto list_end = target.find('&');
  EXPECT_LE(list_end - head.size(), kUrlStreamBudget);
  // Every stream goes somewhere exactly once: in the URL or by SUBSCRIBE.
  std::size_t in_url = 1;
  for (std::size_t i = head.size(); i < list_end; ++i) in_url += target[i] == '/';
  EXPECT_EQ(in_url + overflow.size(), shards[0].streams.size());
}

}  // namespace
}  // namespace tickrelay::upstream
