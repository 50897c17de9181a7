#include "upstream/stream_routing.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tickrelay::upstream {
namespace {

using config::Product;
using fanout::StreamKind;

std::string route(Product product, std::string_view stream) {
  const auto name = fanout::parse_stream_name(stream);
  EXPECT_TRUE(name.has_value()) << stream;
  if (!name) return "<bad name>";
  const auto path = route_stream(product, name->kind);
  return path ? std::string(*path) : std::string("<not served>");
}

TEST(StreamRouting, UsdmFuturesBookStreamsGoToPublic) {
  for (auto s : {"btcusdt@bookTicker", "!bookTicker", "btcusdt@depth", "btcusdt@depth@100ms", "btcusdt@depth5",
                 "btcusdt@depth20@100ms", "btcusdt@trade"}) {
    EXPECT_EQ(route(Product::usdm_futures, s), "/public") << s;
  }
}

TEST(StreamRouting, UsdmFuturesMarketStreamsGoToMarket) {
  for (auto s :
       {"btcusdt@kline_1h", "btcusdt@aggTrade", "btcusdt_perpetual@continuousKline_1m", "btcusdt@markPriceKline_1m",
        "btcusdt@indexPriceKline_1m", "btcusdt@miniTicker", "!miniTicker@arr", "btcusdt@ticker", "!ticker@arr",
        "btcusdt@markPrice", "btcusdt@markPrice@1s", "!markPrice@arr", "!markPrice@arr@1s", "btcusdt@forceOrder",
        "!forceOrder@arr", "!contractInfo", "!assetIndex@arr", "btcusdt@assetIndex"}) {
    EXPECT_EQ(route(Product::usdm_futures, s), "/market") << s;
  }
}

TEST(StreamRouting, UsdmFuturesDoesNotServeSpotOnlyKinds) {
  for (auto s :
       {"btcusdt@avgPrice", "btcusdt@ticker_1h", "bnbbtc@blockTrade", "bazusd@referencePrice", "btcusd@indexPrice"}) {
    EXPECT_EQ(route(Product::usdm_futures, s), "<not served>") << s;
  }
}

TEST(StreamRouting, SpotServesEverythingFromTheRoot) {
  for (auto s :
       {"btcusdt@trade", "btcusdt@aggTrade", "btcusdt@kline_1h", "btcusdt@kline_1h@+08:00", "btcusdt@miniTicker",
        "!miniTicker@arr", "btcusdt@ticker", "btcusdt@ticker_4h", "!ticker@arr", "!ticker_1d@arr", "btcusdt@bookTicker",
        "btcusdt@depth10", "btcusdt@depth@100ms", "btcusdt@avgPrice", "bazusd@referencePrice", "bnbbtc@blockTrade"}) {
    EXPECT_EQ(route(Product::spot, s), "") << s;
  }
}

TEST(StreamRouting, SpotDoesNotServeFuturesKinds) {
  for (auto s : {"btcusdt@markPrice", "!markPrice@arr", "btcusdt@forceOrder", "!forceOrder@arr", "!contractInfo",
                 "btcusdt_perpetual@continuousKline_1m", "btcusdt@indexPriceKline_1m", "btcusd@indexPrice",
                 "!bookTicker", "!assetIndex@arr"}) {
    EXPECT_EQ(route(Product::spot, s), "<not served>") << s;
  }
}

TEST(StreamRouting, CoinmServesFromTheRoot) {
  for (auto s :
       {"btcusd_perp@aggTrade", "btcusd@indexPrice", "btcusd_perp@markPrice", "!markPrice@arr", "btcusd_perp@kline_1m",
        "btcusd_perpetual@continuousKline_1m", "btcusd@indexPriceKline_1m", "btcusd_perp@miniTicker", "!miniTicker@arr",
        "btcusd_perp@ticker", "!ticker@arr", "btcusd_perp@bookTicker", "!bookTicker", "btcusd_perp@forceOrder",
        "!forceOrder@arr", "btcusd_perp@depth5", "btcusd_perp@depth@100ms", "!contractInfo"}) {
    EXPECT_EQ(route(Product::coinm_futures, s), "") << s;
  }
  for (auto s : {"btcusd_perp@trade", "btcusd_perp@avgPrice", "btcusd_perp@ticker_1h", "!assetIndex@arr"}) {
    EXPECT_EQ(route(Product::coinm_futures, s), "<not served>") << s;
  }
}

TEST(StreamRouting, EveryKindHasAnAnswerForEveryProduct) {
  // No kind may fall through to undefined behaviour: each returns a path or nullopt.
  for (auto product : {Product::spot, Product::usdm_futures, Product::coinm_futures}) {
    for (std::size_t i = 0; i < fanout::kStreamKindCount; ++i) {
      const auto path = route_stream(product, static_cast<StreamKind>(i));
      if (path) {
        EXPECT_TRUE(*path == "" || *path == "/market" || *path == "/public");
      }
    }
  }
}

TEST(StreamRouting, ProductForKnownHosts) {
  EXPECT_EQ(product_for_host("stream.binance.com"), Product::spot);
  EXPECT_EQ(product_for_host("data-stream.binance.vision"), Product::spot);
  EXPECT_EQ(product_for_host("stream.testnet.binance.vision"), Product::spot);
  EXPECT_EQ(product_for_host("fstream.binance.com"), Product::usdm_futures);
  EXPECT_EQ(product_for_host("stream.binancefuture.com"), Product::usdm_futures);
  EXPECT_EQ(product_for_host("dstream.binance.com"), Product::coinm_futures);
  EXPECT_EQ(product_for_host("dstream.binancefuture.com"), Product::coinm_futures);
  EXPECT_FALSE(product_for_host("127.0.0.1").has_value());
  EXPECT_FALSE(product_for_host("localhost").has_value());
  EXPECT_FALSE(product_for_host("").has_value());
  EXPECT_FALSE(product_for_host("evil-fstream.binance.com").has_value());
}

TEST(StreamRouting, ParseProductAcceptsOnlyTheThreeNames) {
  EXPECT_EQ(parse_product("spot"), Product::spot);
  EXPECT_EQ(parse_product("usdm-futures"), Product::usdm_futures);
  EXPECT_EQ(parse_product("coinm-futures"), Product::coinm_futures);
  for (auto bad : {"", "Spot", "usdm_futures", "futures", "usdm", "coinm-futures "}) {
    EXPECT_FALSE(parse_product(bad).has_value()) << bad;
  }
  for (auto product : {Product::spot, Product::usdm_futures, Product::coinm_futures}) {
    EXPECT_EQ(parse_product(config::product_name(product)), product);
  }
}

TEST(StreamRouting, ProductDefaults) {
  EXPECT_EQ(default_message_rate(Product::spot), 5);
  EXPECT_EQ(default_message_rate(Product::usdm_futures), 10);
  EXPECT_EQ(default_message_rate(Product::coinm_futures), 10);
  EXPECT_EQ(default_stall_timeout(Product::spot), 60);
  EXPECT_EQ(default_stall_timeout(Product::usdm_futures), 240);
  EXPECT_EQ(default_stall_timeout(Product::coinm_futures), 240);
}

}  // namespace
}  // namespace tickrelay::upstream
