#include "tickrelay/fanout/stream_name.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace tickrelay::fanout {
namespace {

TEST(StreamName, SymbolStreamsOfEveryKind) {
  struct Case {
    std::string_view name;
    std::string_view symbol;
    StreamKind kind;
  };
  const Case cases[] = {
      {"btcusdt@trade", "btcusdt", StreamKind::trade},
      {"btcusdt@aggTrade", "btcusdt", StreamKind::agg_trade},
      {"btcusdt@kline_1h", "btcusdt", StreamKind::kline},
      {"btcusdt@kline_1s", "btcusdt", StreamKind::kline},
      {"btcusdt@kline_1M", "btcusdt", StreamKind::kline},
      {"btcusdt@kline_1h@+08:00", "btcusdt", StreamKind::kline},
      {"btcusdt_perpetual@continuousKline_1m", "btcusdt_perpetual", StreamKind::continuous_kline},
      {"btcusdt_current_quarter@continuousKline_4h", "btcusdt_current_quarter", StreamKind::continuous_kline},
      {"btcusdt@indexPriceKline_1m", "btcusdt", StreamKind::index_price_kline},
      {"btcusdt@markPriceKline_1d", "btcusdt", StreamKind::index_price_kline},
      {"btcusdt@miniTicker", "btcusdt", StreamKind::mini_ticker},
      {"btcusdt@ticker", "btcusdt", StreamKind::ticker},
      {"btcusdt@ticker_1h", "btcusdt", StreamKind::rolling_ticker},
      {"btcusdt@ticker_4h", "btcusdt", StreamKind::rolling_ticker},
      {"btcusdt@ticker_1d", "btcusdt", StreamKind::rolling_ticker},
      {"btcusdt@bookTicker", "btcusdt", StreamKind::book_ticker},
      {"btcusdt@depth5", "btcusdt", StreamKind::partial_depth},
      {"btcusdt@depth10@100ms", "btcusdt", StreamKind::partial_depth},
      {"btcusdt@depth20@100ms", "btcusdt", StreamKind::partial_depth},
      {"btcusdt@depth", "btcusdt", StreamKind::diff_depth},
      {"btcusdt@depth@100ms", "btcusdt", StreamKind::diff_depth},
      {"btcusdt@depth@250ms", "btcusdt", StreamKind::diff_depth},
      {"btcusdt@depth@500ms", "btcusdt", StreamKind::diff_depth},
      {"btcusdt@depth@1000ms", "btcusdt", StreamKind::diff_depth},
      {"btcusdt@markPrice", "btcusdt", StreamKind::mark_price},
      {"btcusdt@markPrice@1s", "btcusdt", StreamKind::mark_price},
      {"btcusd@indexPrice", "btcusd", StreamKind::index_price},
      {"btcusd@indexPrice@1s", "btcusd", StreamKind::index_price},
      {"btcusdt@avgPrice", "btcusdt", StreamKind::avg_price},
      {"bazusd@referencePrice", "bazusd", StreamKind::reference_price},
      {"bnbbtc@blockTrade", "bnbbtc", StreamKind::block_trade},
      {"btcusdt@forceOrder", "btcusdt", StreamKind::force_order},
      {"btcusdt@assetIndex", "btcusdt", StreamKind::asset_index},
      {"1000pepeusdt@kline_1h", "1000pepeusdt", StreamKind::kline},
      {"btcusd_perp@aggTrade", "btcusd_perp", StreamKind::agg_trade},
      {"btcusd_240628@kline_1m", "btcusd_240628", StreamKind::kline},
  };
  for (const auto& c : cases) {
    const auto parsed = parse_stream_name(c.name);
    ASSERT_TRUE(parsed.has_value()) << c.name;
    EXPECT_EQ(parsed->symbol, c.symbol) << c.name;
    EXPECT_EQ(parsed->kind, c.kind) << c.name;
  }
}

TEST(StreamName, AllMarketStreamsHaveNoSymbol) {
  struct Case {
    std::string_view name;
    StreamKind kind;
  };
  const Case cases[] = {
      {"!miniTicker@arr", StreamKind::all_mini_ticker}, {"!ticker@arr", StreamKind::all_ticker},
      {"!ticker_1h@arr", StreamKind::all_ticker},       {"!ticker_4h@arr", StreamKind::all_ticker},
      {"!ticker_1d@arr", StreamKind::all_ticker},       {"!bookTicker", StreamKind::all_book_ticker},
      {"!markPrice@arr", StreamKind::all_mark_price},   {"!markPrice@arr@1s", StreamKind::all_mark_price},
      {"!forceOrder@arr", StreamKind::all_force_order}, {"!contractInfo", StreamKind::contract_info},
      {"!assetIndex@arr", StreamKind::asset_index},
  };
  for (const auto& c : cases) {
    const auto parsed = parse_stream_name(c.name);
    ASSERT_TRUE(parsed.has_value()) << c.name;
    EXPECT_TRUE(parsed->symbol.empty()) << c.name;
    EXPECT_EQ(parsed->kind, c.kind) << c.name;
  }
}

TEST(StreamName, SymbolViewPointsIntoTheName) {
  const std::string name = "ethusdt@trade";
  const auto parsed = parse_stream_name(name);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->symbol.data(), name.data());
}

TEST(StreamName, RejectsMalformedNames) {
  for (std::string_view name : {
           "",
           "btcusdt",
           "@trade",
           "btcusdt@",
           "BTCUSDT@trade",  // names are lowercase
           "btcUSDT@trade",
           "btcusdt@Trade",
           "btcusdt@aggtrade",  // the kind keeps Binance's camel case
           "btc-usdt@trade",
           "btc usdt@trade",
           "_btcusdt@trade",
           "btcusdt_@trade",
           "btcusdt@kline",
           "btcusdt@kline_",
           "btcusdt@kline_2m",
           "btcusdt@kline_1H",
           "btcusdt@kline_1h@+09:00",
           "btcusdt@kline_1h@",
           "btcusdt@ticker_2h",
           "btcusdt@depth7",
           "btcusdt@depth5@200ms",
           "btcusdt@depth@1s",
           "btcusdt@depthx",
           "btcusdt@markPrice@3s",
           "btcusdt@trade@100ms",
           "btcusdt@continuousKline_1m",  // needs <pair>_<contract>
           "btcusdt_weekly@continuousKline_1m",
           "btcusdt_perpetual@continuousKline_7m",
           "BTC_perpetual@continuousKline_1m",
           "!miniTicker",
           "!miniTicker@arr@1s",
           "!unknown@arr",
           "!",
           "miniTicker@arr",
       }) {
    EXPECT_FALSE(parse_stream_name(name).has_value()) << "'" << name << "'";
  }
}

// A speed separator with nothing after it is not a Binance name; accepting it
// would send "btcusdt@depth@" upstream, which the exchange does not serve.
TEST(StreamName, DepthWithEmptySpeedIsRejected) {
  EXPECT_FALSE(parse_stream_name("btcusdt@depth@").has_value());
  EXPECT_FALSE(parse_stream_name("btcusdt@depth20@").has_value());
}

// A continuous kline names a pair before its contract type; an empty pair is
// no stream at all.
TEST(StreamName, ContinuousKlineNeedsAPair) {
  EXPECT_FALSE(parse_stream_name("_perpetual@continuousKline_1m").has_value());
}

TEST(StreamName, KindLabelsAreUniqueAndMatchBinanceSpelling) {
  std::set<std::string_view> labels;
  for (std::size_t i = 0; i < kStreamKindCount; ++i) {
    const auto label = kind_label(static_cast<StreamKind>(i));
    EXPECT_FALSE(label.empty()) << i;
    EXPECT_TRUE(labels.insert(label).second) << label;
  }
  EXPECT_EQ(kind_label(StreamKind::trade), "trade");
  EXPECT_EQ(kind_label(StreamKind::agg_trade), "aggTrade");
  EXPECT_EQ(kind_label(StreamKind::kline), "kline");
  EXPECT_EQ(kind_label(StreamKind::book_ticker), "bookTicker");
  EXPECT_EQ(kind_label(StreamKind::mini_ticker), "miniTicker");
  EXPECT_EQ(kind_label(StreamKind::mark_price), "markPrice");
  EXPECT_EQ(kind_label(StreamKind::diff_depth), "depth");
  EXPECT_EQ(kind_label(StreamKind::partial_depth), "partialDepth");
}

TEST(StreamName, ReplayFamiliesGroupRelatedKinds) {
  EXPECT_EQ(replay_family(StreamKind::kline), "kline");
  EXPECT_EQ(replay_family(StreamKind::continuous_kline), "kline");
  EXPECT_EQ(replay_family(StreamKind::index_price_kline), "kline");
  EXPECT_EQ(replay_family(StreamKind::mini_ticker), "miniTicker");
  EXPECT_EQ(replay_family(StreamKind::all_mini_ticker), "miniTicker");
  EXPECT_EQ(replay_family(StreamKind::ticker), "ticker");
  EXPECT_EQ(replay_family(StreamKind::rolling_ticker), "ticker");
  EXPECT_EQ(replay_family(StreamKind::all_ticker), "ticker");
  EXPECT_EQ(replay_family(StreamKind::book_ticker), "bookTicker");
  EXPECT_EQ(replay_family(StreamKind::all_book_ticker), "bookTicker");
  EXPECT_EQ(replay_family(StreamKind::partial_depth), "depth");
  EXPECT_EQ(replay_family(StreamKind::mark_price), "markPrice");
  EXPECT_EQ(replay_family(StreamKind::all_mark_price), "markPrice");
  EXPECT_EQ(replay_family(StreamKind::index_price), "markPrice");
  EXPECT_EQ(replay_family(StreamKind::avg_price), "avgPrice");
  EXPECT_EQ(replay_family(StreamKind::reference_price), "avgPrice");
  EXPECT_EQ(replay_family(StreamKind::trade), "trade");
  EXPECT_EQ(replay_family(StreamKind::agg_trade), "aggTrade");
}

TEST(StreamName, StateStreamsExcludeTradesAndDeltas) {
  for (auto kind : {StreamKind::trade, StreamKind::agg_trade, StreamKind::block_trade, StreamKind::force_order,
                    StreamKind::all_force_order, StreamKind::diff_depth}) {
    EXPECT_FALSE(is_state_stream(kind)) << kind_label(kind);
  }
  for (auto kind : {StreamKind::kline, StreamKind::continuous_kline, StreamKind::index_price_kline,
                    StreamKind::mini_ticker, StreamKind::ticker, StreamKind::rolling_ticker, StreamKind::book_ticker,
                    StreamKind::partial_depth, StreamKind::mark_price, StreamKind::index_price, StreamKind::avg_price,
                    StreamKind::all_mini_ticker, StreamKind::all_ticker, StreamKind::all_mark_price}) {
    EXPECT_TRUE(is_state_stream(kind)) << kind_label(kind);
  }
}

TEST(StreamName, SequenceFieldOnlyForTradeAndAggTrade) {
  EXPECT_EQ(sequence_field(StreamKind::trade), SequenceField::trade_id);
  EXPECT_EQ(sequence_field(StreamKind::agg_trade), SequenceField::agg_trade_id);
  for (std::size_t i = 0; i < kStreamKindCount; ++i) {
    const auto kind = static_cast<StreamKind>(i);
    if (kind == StreamKind::trade || kind == StreamKind::agg_trade) continue;
    // Kline's L counts trades and bookTicker's u jumps: neither grows by one per event.
    EXPECT_EQ(sequence_field(kind), SequenceField::none) << kind_label(kind);
  }
}

TEST(StreamName, NormalizeSymbolLowercasesAndStripsExchangePrefix) {
  EXPECT_EQ(normalize_symbol("BINANCE:BTCUSDT"), "btcusdt");
  EXPECT_EQ(normalize_symbol("BTCUSDT"), "btcusdt");
  EXPECT_EQ(normalize_symbol("btcusdt"), "btcusdt");
  EXPECT_EQ(normalize_symbol("Binance:1000PepeUSDT"), "1000pepeusdt");
  EXPECT_EQ(normalize_symbol(""), "");
  EXPECT_EQ(normalize_symbol("BINANCE:"), "");
}

}  // namespace
}  // namespace tickrelay::fanout
