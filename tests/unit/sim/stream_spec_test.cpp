#include "stream_spec.hpp"

#include <gtest/gtest.h>

#include <string>

#include "symbol_list.hpp"

namespace tickrelay::sim {
namespace {

class StreamSpecTest : public ::testing::Test {
 protected:
  SymbolList symbols_ = SymbolList::from_csv("btcusdt,ethusdt,1000shibusdt");

  StreamSpec parse_ok(const std::string& name) {
    auto result = parse_stream_spec(name, symbols_);
    EXPECT_TRUE(result) << name << ": " << describe(result.error);
    return result.spec.value_or(StreamSpec{});
  }
  StreamError parse_error(const std::string& name) {
    auto result = parse_stream_spec(name, symbols_);
    EXPECT_FALSE(result) << name;
    return result.error;
  }
};

TEST_F(StreamSpecTest, SimpleKinds) {
  EXPECT_EQ(parse_ok("btcusdt@trade").kind, StreamKind::trade);
  EXPECT_EQ(parse_ok("btcusdt@aggTrade").kind, StreamKind::agg_trade);
  EXPECT_EQ(parse_ok("btcusdt@bookTicker").kind, StreamKind::book_ticker);
  EXPECT_EQ(parse_ok("btcusdt@miniTicker").kind, StreamKind::mini_ticker);
  EXPECT_EQ(parse_ok("btcusdt@ticker").kind, StreamKind::ticker);
}

TEST_F(StreamSpecTest, CarriesNameSymbolAndIndex) {
  const auto spec = parse_ok("ethusdt@aggTrade");
  EXPECT_EQ(spec.name, "ethusdt@aggTrade");
  EXPECT_EQ(spec.symbol, "ethusdt");
  EXPECT_EQ(spec.symbol_index, 1u);
  EXPECT_EQ(parse_ok("1000shibusdt@trade").symbol_index, 2u);
}

TEST_F(StreamSpecTest, EveryKlineInterval) {
  const std::pair<const char*, KlineInterval> cases[] = {
      {"1s", KlineInterval::s1},   {"1m", KlineInterval::m1},   {"3m", KlineInterval::m3}, {"5m", KlineInterval::m5},
      {"15m", KlineInterval::m15}, {"30m", KlineInterval::m30}, {"1h", KlineInterval::h1}, {"2h", KlineInterval::h2},
      {"4h", KlineInterval::h4},   {"6h", KlineInterval::h6},   {"8h", KlineInterval::h8}, {"12h", KlineInterval::h12},
      {"1d", KlineInterval::d1},   {"3d", KlineInterval::d3},   {"1w", KlineInterval::w1}, {"1M", KlineInterval::mo1},
  };
  for (const auto& [text, interval] : cases) {
    const auto spec = parse_ok(std::string("btcusdt@kline_") + text);
    EXPECT_EQ(spec.kind, StreamKind::kline) << text;
    EXPECT_EQ(spec.interval, interval) << text;
    EXPECT_EQ(to_string(spec.interval), text);
  }
}

TEST_F(StreamSpecTest, MinuteAndMonthDiffer) {
  EXPECT_EQ(parse_ok("btcusdt@kline_1m").interval, KlineInterval::m1);
  EXPECT_EQ(parse_ok("btcusdt@kline_1M").interval, KlineInterval::mo1);
}

TEST_F(StreamSpecTest, UnknownIntervals) {
  EXPECT_EQ(parse_error("btcusdt@kline_2m"), StreamError::unknown_interval);
  EXPECT_EQ(parse_error("btcusdt@kline_1H"), StreamError::unknown_interval);
  EXPECT_EQ(parse_error("btcusdt@kline_"), StreamError::unknown_interval);
  EXPECT_EQ(parse_error("btcusdt@kline_1h@+08:00"), StreamError::unknown_type);
}

TEST_F(StreamSpecTest, PartialDepth) {
  for (int levels : {5, 10, 20}) {
    const auto slow = parse_ok("btcusdt@depth" + std::to_string(levels));
    EXPECT_EQ(slow.kind, StreamKind::partial_depth);
    EXPECT_EQ(slow.depth_levels, levels);
    EXPECT_FALSE(slow.fast);
    const auto fast = parse_ok("btcusdt@depth" + std::to_string(levels) + "@100ms");
    EXPECT_EQ(fast.depth_levels, levels);
    EXPECT_TRUE(fast.fast);
  }
  for (const char* bad : {"btcusdt@depth15", "btcusdt@depth50", "btcusdt@depth5@1000ms", "btcusdt@depth5@",
                          "btcusdt@depth20@100", "btcusdt@depth5@250ms"}) {
    EXPECT_EQ(parse_error(bad), StreamError::unknown_type) << bad;
  }
}

TEST_F(StreamSpecTest, DiffDepthAtEverySpeed) {
  const auto plain = parse_ok("btcusdt@depth");
  EXPECT_EQ(plain.kind, StreamKind::diff_depth);
  EXPECT_EQ(plain.speed_ms, 0);
  EXPECT_FALSE(plain.fast);
  EXPECT_EQ(plain.name, "btcusdt@depth");
  EXPECT_EQ(plain.symbol, "btcusdt");
  const std::pair<const char*, int> speeds[] = {{"@100ms", 100}, {"@250ms", 250}, {"@500ms", 500}};
  for (const auto& [suffix, ms] : speeds) {
    const auto spec = parse_ok(std::string("ethusdt@depth") + suffix);
    EXPECT_EQ(spec.kind, StreamKind::diff_depth) << suffix;
    EXPECT_EQ(spec.speed_ms, ms) << suffix;
    EXPECT_EQ(spec.fast, ms == 100) << suffix;
    EXPECT_EQ(spec.symbol_index, 1u);
  }
  for (const char* bad : {"btcusdt@depth@", "btcusdt@depth@1000ms", "btcusdt@depth@100", "btcusdt@depth@100ms@x",
                          "btcusdt@depth@1s", "btcusdt@Depth", "btcusdt@depth@250MS"}) {
    EXPECT_EQ(parse_error(bad), StreamError::unknown_type) << bad;
  }
  EXPECT_EQ(parse_error("solusdt@depth"), StreamError::unknown_symbol);
}

TEST_F(StreamSpecTest, DiffDepthSpeedsByProduct) {
  // Spot: @depth (1000 ms) and @depth@100ms; USD-M: @depth (250 ms), 100, 250, 500.
  EXPECT_TRUE(offered_by(parse_ok("btcusdt@depth"), Flavour::spot));
  EXPECT_TRUE(offered_by(parse_ok("btcusdt@depth@100ms"), Flavour::spot));
  EXPECT_FALSE(offered_by(parse_ok("btcusdt@depth@250ms"), Flavour::spot));
  EXPECT_FALSE(offered_by(parse_ok("btcusdt@depth@500ms"), Flavour::spot));
  for (const char* name : {"btcusdt@depth", "btcusdt@depth@100ms", "btcusdt@depth@250ms", "btcusdt@depth@500ms"}) {
    EXPECT_TRUE(offered_by(parse_ok(name), Flavour::usdm_futures)) << name;
  }
  EXPECT_TRUE(offered_by(parse_ok("btcusdt@trade"), Flavour::spot));
  EXPECT_EQ(diff_depth_speed_ms(parse_ok("btcusdt@depth"), Flavour::spot), 1000);
  EXPECT_EQ(diff_depth_speed_ms(parse_ok("btcusdt@depth"), Flavour::usdm_futures), 250);
  EXPECT_EQ(diff_depth_speed_ms(parse_ok("btcusdt@depth@100ms"), Flavour::spot), 100);
  EXPECT_EQ(diff_depth_speed_ms(parse_ok("btcusdt@depth@500ms"), Flavour::usdm_futures), 500);
}

TEST_F(StreamSpecTest, MarkPrice) {
  EXPECT_EQ(parse_ok("btcusdt@markPrice").kind, StreamKind::mark_price);
  EXPECT_FALSE(parse_ok("btcusdt@markPrice").fast);
  EXPECT_TRUE(parse_ok("btcusdt@markPrice@1s").fast);
  EXPECT_EQ(parse_error("btcusdt@markPrice@3s"), StreamError::unknown_type);
}

TEST_F(StreamSpecTest, AllMarketMiniTickers) {
  const auto spec = parse_ok("!miniTicker@arr");
  EXPECT_EQ(spec.kind, StreamKind::all_mini_tickers);
  EXPECT_TRUE(spec.symbol.empty());
  EXPECT_EQ(parse_error("!ticker@arr"), StreamError::malformed);
  EXPECT_EQ(parse_error("!miniticker@arr"), StreamError::malformed);
}

TEST_F(StreamSpecTest, TypesAreCaseSensitive) {
  EXPECT_EQ(parse_error("btcusdt@aggtrade"), StreamError::unknown_type);
  EXPECT_EQ(parse_error("btcusdt@bookticker"), StreamError::unknown_type);
  EXPECT_EQ(parse_error("btcusdt@Trade"), StreamError::unknown_type);
}

TEST_F(StreamSpecTest, SymbolsMustBeLowercaseAndKnown) {
  EXPECT_EQ(parse_error("BTCUSDT@trade"), StreamError::malformed);
  EXPECT_EQ(parse_error("solusdt@trade"), StreamError::unknown_symbol);
}

TEST_F(StreamSpecTest, MalformedNames) {
  for (const char* bad : {"", "@", "btcusdt", "btcusdt@", "@trade", "btc-usdt@trade", "btcusdt @trade"}) {
    EXPECT_EQ(parse_error(bad), StreamError::malformed) << '"' << bad << '"';
  }
  EXPECT_EQ(parse_error("btcusdt@trade@x"), StreamError::unknown_type);
  EXPECT_EQ(parse_error("btcusdt@trade "), StreamError::unknown_type);
}

TEST_F(StreamSpecTest, DescribeGivesText) {
  EXPECT_EQ(describe(StreamError::unknown_symbol), "unknown symbol");
  EXPECT_FALSE(describe(StreamError::malformed).empty());
}

TEST(StreamSpecRouting, FuturesSplitsKindsByPath) {
  EXPECT_TRUE(served_on(StreamKind::kline, Endpoint::usdm_market));
  EXPECT_TRUE(served_on(StreamKind::agg_trade, Endpoint::usdm_market));
  EXPECT_TRUE(served_on(StreamKind::mark_price, Endpoint::usdm_market));
  EXPECT_TRUE(served_on(StreamKind::all_mini_tickers, Endpoint::usdm_market));
  EXPECT_FALSE(served_on(StreamKind::book_ticker, Endpoint::usdm_market));
  EXPECT_FALSE(served_on(StreamKind::partial_depth, Endpoint::usdm_market));
  EXPECT_TRUE(served_on(StreamKind::book_ticker, Endpoint::usdm_public));
  EXPECT_TRUE(served_on(StreamKind::partial_depth, Endpoint::usdm_public));
  EXPECT_TRUE(served_on(StreamKind::diff_depth, Endpoint::usdm_public));
  EXPECT_FALSE(served_on(StreamKind::diff_depth, Endpoint::usdm_market));
  EXPECT_FALSE(served_on(StreamKind::kline, Endpoint::usdm_public));
  // Trades moved to /public with the book streams (ccxt asks there).
  EXPECT_TRUE(served_on(StreamKind::trade, Endpoint::usdm_public));
  EXPECT_FALSE(served_on(StreamKind::trade, Endpoint::usdm_market));
}

TEST(StreamSpecRouting, UsdmEndpointForEachKind) {
  EXPECT_EQ(usdm_endpoint_for(StreamKind::book_ticker), Endpoint::usdm_public);
  EXPECT_EQ(usdm_endpoint_for(StreamKind::partial_depth), Endpoint::usdm_public);
  EXPECT_EQ(usdm_endpoint_for(StreamKind::diff_depth), Endpoint::usdm_public);
  EXPECT_EQ(usdm_endpoint_for(StreamKind::trade), Endpoint::usdm_public);
  EXPECT_EQ(usdm_endpoint_for(StreamKind::kline), Endpoint::usdm_market);
  EXPECT_EQ(usdm_endpoint_for(StreamKind::all_mini_tickers), Endpoint::usdm_market);
}

TEST(StreamSpecRouting, SpotServesAllButMarkPrice) {
  for (auto kind :
       {StreamKind::trade, StreamKind::agg_trade, StreamKind::kline, StreamKind::book_ticker, StreamKind::mini_ticker,
        StreamKind::ticker, StreamKind::partial_depth, StreamKind::diff_depth, StreamKind::all_mini_tickers}) {
    EXPECT_TRUE(served_on(kind, Endpoint::spot)) << to_string(kind);
  }
  EXPECT_FALSE(served_on(StreamKind::mark_price, Endpoint::spot));
}

}  // namespace
}  // namespace tickrelay::sim
