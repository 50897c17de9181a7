#include "event_renderer.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "market_model.hpp"
#include "symbol_list.hpp"

namespace tickrelay::sim {
namespace {

namespace json = boost::json;
using Keys = std::vector<std::string>;

constexpr std::int64_t kNowUs = 1'672'515'782'136'000;  // Binance's documented example time
constexpr RenderFormat kSpotMs{Flavour::spot, TimeUnit::millisecond};
constexpr RenderFormat kSpotUs{Flavour::spot, TimeUnit::microsecond};
constexpr RenderFormat kFuturesMs{Flavour::usdm_futures, TimeUnit::millisecond};

json::value parse(const std::string& text) {
  json::error_code ec;
  auto value = json::parse(text, ec);
  EXPECT_FALSE(ec) << ec.message() << " in: " << text;
  return value;
}

bool is_json(const std::string& text) {
  json::error_code ec;
  (void)json::parse(text, ec);
  return !ec;
}

Keys keys(const json::object& object) {
  Keys out;
  for (const auto& member : object) out.emplace_back(member.key());
  return out;
}

// BNBUSDT with 4 price and 2 quantity decimals: the book of Binance's
// bookTicker example.
SymbolState bnb() {
  SymbolState s;
  s.name = "BNBUSDT";
  s.price_decimals = 4;
  s.qty_decimals = 2;
  s.price = 253519;
  s.last_qty = 3121;
  s.bid = 253519;
  s.bid_qty = 3121;
  s.ask = 253652;
  s.ask_qty = 4066;
  s.window_start_us = kNowUs - 3'600'000'000;
  s.open = 250000;
  s.high = 260000;
  s.low = 240000;
  s.volume = 1'000'000;
  s.quote_cents = 25'000'000;
  s.first_trade_id = 100;
  s.last_trade_id = 18150;
  return s;
}

class EventRendererTest : public ::testing::Test {
 protected:
  SymbolState symbol_ = bnb();
  Event event_;
  std::string out_;

  EventRendererTest() {
    event_.time_us = kNowUs;
    event_.symbol = &symbol_;
  }
  json::object render(StreamKind kind, RenderFormat format) {
    event_.kind = kind;
    render_event(event_, format, out_);
    return parse(out_).as_object();
  }
};

TEST_F(EventRendererTest, SpotBookTickerMatchesBinancesExample) {
  event_.kind = StreamKind::book_ticker;
  event_.id = 400900217;
  render_event(event_, kSpotMs, out_);
  EXPECT_EQ(out_,
            R"({"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"})");
}

TEST_F(EventRendererTest, FuturesBookTickerHasEventAndTransactionTimes) {
  event_.kind = StreamKind::book_ticker;
  event_.id = 400900217;
  render_event(event_, kFuturesMs, out_);
  EXPECT_EQ(out_, R"({"e":"bookTicker","u":400900217,"E":1672515782136,"T":1672515782136,"s":"BNBUSDT",)"
                  R"("b":"25.3519","B":"31.21","a":"25.3652","A":"40.66"})");
}

TEST_F(EventRendererTest, SpotTradeExactly) {
  event_.kind = StreamKind::trade;
  event_.id = 12345;
  event_.price = 253519;
  event_.qty = 100;
  event_.buyer_maker = true;
  render_event(event_, kSpotMs, out_);
  EXPECT_EQ(out_, R"({"e":"trade","E":1672515782136,"s":"BNBUSDT","t":12345,"p":"25.35190000","q":"1.00000000",)"
                  R"("T":1672515782136,"m":true,"M":true})");
}

TEST_F(EventRendererTest, MicrosecondsWhenAsked) {
  event_.kind = StreamKind::trade;
  render_event(event_, kSpotUs, out_);
  const auto object = parse(out_).as_object();
  EXPECT_EQ(object.at("E").as_int64(), kNowUs);
  EXPECT_EQ(object.at("T").as_int64(), kNowUs);
  render_event(event_, kSpotMs, out_);
  EXPECT_EQ(parse(out_).as_object().at("E").as_int64(), kNowUs / 1000);
}

TEST_F(EventRendererTest, TradeAndAggTradeFieldOrder) {
  EXPECT_EQ(keys(render(StreamKind::trade, kSpotMs)), (Keys{"e", "E", "s", "t", "p", "q", "T", "m", "M"}));
  EXPECT_EQ(keys(render(StreamKind::trade, kFuturesMs)), (Keys{"e", "E", "s", "t", "p", "q", "T", "m"}));
  event_.first_id = 7;
  event_.last_id = 9;
  const auto agg = render(StreamKind::agg_trade, kSpotMs);
  EXPECT_EQ(keys(agg), (Keys{"e", "E", "s", "a", "p", "q", "f", "l", "T", "m", "M"}));
  EXPECT_EQ(agg.at("e").as_string(), "aggTrade");
  EXPECT_EQ(agg.at("f").as_int64(), 7);
  EXPECT_EQ(agg.at("l").as_int64(), 9);
  EXPECT_EQ(keys(render(StreamKind::agg_trade, kFuturesMs)), (Keys{"e", "E", "s", "a", "p", "q", "f", "l", "T", "m"}));
}

TEST_F(EventRendererTest, KlineShapeAndValues) {
  KlineBar& k = event_.kline;
  k.interval = KlineInterval::m1;
  k.open_time_us = 1'672'515'780'000'000;
  k.close_time_us = 1'672'515'839'999'999;
  k.first_id = 100;
  k.last_id = 200;
  k.open = 10;
  k.close = 20;
  k.high = 25;
  k.low = 5;
  k.volume = 100'000;
  k.quote_cents = 100;
  k.taker_volume = 50'000;
  k.taker_quote_cents = 50;
  for (auto format : {kSpotMs, kFuturesMs}) {
    const auto object = render(StreamKind::kline, format);
    EXPECT_EQ(keys(object), (Keys{"e", "E", "s", "k"}));
    const auto& bar = object.at("k").as_object();
    EXPECT_EQ(keys(bar), (Keys{"t", "T", "s", "i", "f", "L", "o", "c", "h", "l", "v", "n", "x", "q", "V", "Q", "B"}));
    EXPECT_EQ(bar.at("t").as_int64(), 1'672'515'780'000);
    EXPECT_EQ(bar.at("T").as_int64(), 1'672'515'839'999);
    EXPECT_EQ(bar.at("i").as_string(), "1m");
    EXPECT_EQ(bar.at("n").as_int64(), 101);
    EXPECT_FALSE(bar.at("x").as_bool());
  }
  const auto spot = render(StreamKind::kline, kSpotMs).at("k").as_object();
  EXPECT_EQ(spot.at("o").as_string(), "0.00100000");
  EXPECT_EQ(spot.at("v").as_string(), "1000.00000000");
  EXPECT_EQ(spot.at("q").as_string(), "1.00000000");
  const auto futures = render(StreamKind::kline, kFuturesMs).at("k").as_object();
  EXPECT_EQ(futures.at("o").as_string(), "0.0010");
  EXPECT_EQ(futures.at("v").as_string(), "1000.00");
  EXPECT_EQ(futures.at("Q").as_string(), "0.50");
  event_.kline.closed = true;
  EXPECT_TRUE(render(StreamKind::kline, kSpotUs).at("k").as_object().at("x").as_bool());
  EXPECT_EQ(render(StreamKind::kline, kSpotUs).at("k").as_object().at("T").as_int64(), 1'672'515'839'999'999);
}

TEST_F(EventRendererTest, TickerShapes) {
  const auto spot = render(StreamKind::ticker, kSpotMs);
  EXPECT_EQ(keys(spot), (Keys{"e", "E", "s", "p", "P", "w", "x", "c", "Q", "b", "B", "a",
                              "A", "o", "h", "l", "v", "q", "O", "C", "F", "L", "n"}));
  EXPECT_EQ(spot.at("e").as_string(), "24hrTicker");
  EXPECT_EQ(spot.at("p").as_string(), "0.35190000");
  EXPECT_EQ(spot.at("P").as_string(), "1.408");
  EXPECT_EQ(spot.at("w").as_string(), "25.00000000");  // 250000.00 quote / 10000.00 base
  EXPECT_EQ(spot.at("O").as_int64(), (kNowUs - 3'600'000'000) / 1000);
  EXPECT_EQ(spot.at("C").as_int64(), kNowUs / 1000);
  EXPECT_EQ(spot.at("F").as_int64(), 100);
  EXPECT_EQ(spot.at("L").as_int64(), 18150);
  EXPECT_EQ(spot.at("n").as_int64(), 18051);
  const auto futures = render(StreamKind::ticker, kFuturesMs);
  EXPECT_EQ(keys(futures),
            (Keys{"e", "E", "s", "p", "P", "w", "c", "Q", "o", "h", "l", "v", "q", "O", "C", "F", "L", "n"}));
}

TEST_F(EventRendererTest, NegativeChangeKeepsItsSign) {
  symbol_.open = 260000;
  symbol_.price = 247000;
  const auto ticker = render(StreamKind::ticker, kSpotMs);
  EXPECT_EQ(ticker.at("p").as_string(), "-1.30000000");
  EXPECT_EQ(ticker.at("P").as_string(), "-5.000");
}

TEST_F(EventRendererTest, MiniTickerShape) {
  const auto object = render(StreamKind::mini_ticker, kSpotMs);
  EXPECT_EQ(keys(object), (Keys{"e", "E", "s", "c", "o", "h", "l", "v", "q"}));
  EXPECT_EQ(object.at("e").as_string(), "24hrMiniTicker");
  EXPECT_EQ(object.at("c").as_string(), "25.35190000");
  EXPECT_EQ(keys(render(StreamKind::mini_ticker, kFuturesMs)), keys(object));
}

TEST_F(EventRendererTest, AllMiniTickersIsAnArrayOfMiniTickers) {
  std::vector<SymbolState> symbols{bnb(), bnb(), bnb()};
  symbols[1].name = "ETHUSDT";
  event_.kind = StreamKind::all_mini_tickers;
  event_.symbol = nullptr;
  event_.symbols = symbols;
  render_event(event_, kSpotMs, out_);
  const auto array = parse(out_).as_array();
  ASSERT_EQ(array.size(), 3u);
  EXPECT_EQ(array[1].as_object().at("s").as_string(), "ETHUSDT");
  EXPECT_EQ(keys(array[2].as_object()), (Keys{"e", "E", "s", "c", "o", "h", "l", "v", "q"}));
}

TEST_F(EventRendererTest, DepthShapes) {
  event_.id = 160;
  event_.first_id = 160;
  event_.prev_id = 159;
  event_.depth_levels = 2;
  event_.bids[0] = {24, 1000};
  event_.bids[1] = {23, 500};
  event_.asks[0] = {26, 10000};
  event_.asks[1] = {27, 1};
  event_.kind = StreamKind::partial_depth;
  render_event(event_, kSpotMs, out_);
  EXPECT_EQ(out_, R"({"lastUpdateId":160,"bids":[["0.00240000","10.00000000"],["0.00230000","5.00000000"]],)"
                  R"("asks":[["0.00260000","100.00000000"],["0.00270000","0.01000000"]]})");
  const auto futures = render(StreamKind::partial_depth, kFuturesMs);
  EXPECT_EQ(keys(futures), (Keys{"e", "E", "T", "s", "U", "u", "pu", "b", "a"}));
  EXPECT_EQ(futures.at("e").as_string(), "depthUpdate");
  EXPECT_EQ(futures.at("pu").as_int64(), 159);
  EXPECT_EQ(futures.at("b").as_array().size(), 2u);
  EXPECT_EQ(futures.at("a").as_array()[0].as_array()[0].as_string(), "0.0026");
}

TEST_F(EventRendererTest, DiffDepthShapes) {
  event_.first_id = 157;
  event_.id = 160;
  event_.prev_id = 149;
  event_.changed_bids = {{24, 1000}, {23, 0}};
  event_.changed_asks = {{26, 10000}};
  event_.kind = StreamKind::diff_depth;
  render_event(event_, kSpotMs, out_);
  EXPECT_EQ(out_,
            R"({"e":"depthUpdate","E":1672515782136,"s":"BNBUSDT","U":157,"u":160,)"
            R"("b":[["0.00240000","10.00000000"],["0.00230000","0.00000000"]],"a":[["0.00260000","100.00000000"]]})");
  const auto micro = render(StreamKind::diff_depth, kSpotUs);
  EXPECT_EQ(micro.at("E").as_int64(), kNowUs);
  const auto futures = render(StreamKind::diff_depth, kFuturesMs);
  EXPECT_EQ(keys(futures), (Keys{"e", "E", "T", "s", "U", "u", "pu", "b", "a"}));
  EXPECT_EQ(futures.at("T").as_int64(), kNowUs / 1000);
  EXPECT_EQ(futures.at("pu").as_int64(), 149);
  EXPECT_EQ(futures.at("b").as_array()[1].as_array()[1].as_string(), "0.00");
  // No change on a side: an empty array, as Binance sends.
  event_.changed_asks.clear();
  EXPECT_TRUE(render(StreamKind::diff_depth, kFuturesMs).at("a").as_array().empty());
  // Many levels (a stream quiet for long): the buffer grows to fit.
  event_.changed_bids.assign(3000, PriceLevel{253519, 3121});
  EXPECT_EQ(render(StreamKind::diff_depth, kSpotMs).at("b").as_array().size(), 3000u);
}

TEST_F(EventRendererTest, DepthSnapshotShapes) {
  const std::vector<PriceLevel> bids{{24, 1000}, {23, 500}};
  const std::vector<PriceLevel> asks{{26, 10000}};
  render_depth_snapshot(symbol_, Flavour::spot, 1027024, kNowUs, bids, asks, out_);
  EXPECT_EQ(out_, R"({"lastUpdateId":1027024,"bids":[["0.00240000","10.00000000"],["0.00230000","5.00000000"]],)"
                  R"("asks":[["0.00260000","100.00000000"]]})");
  render_depth_snapshot(symbol_, Flavour::usdm_futures, 1027024, kNowUs, bids, {}, out_);
  EXPECT_EQ(out_, R"({"lastUpdateId":1027024,"E":1672515782136,"T":1672515782136,)"
                  R"("bids":[["0.0024","10.00"],["0.0023","5.00"]],"asks":[]})");
}

TEST_F(EventRendererTest, MarkPriceShape) {
  event_.mark = {117941500, 1178462659091, 1178425641265, -38167, 1'672'531'200'000'000};
  symbol_.price_decimals = 4;
  const auto object = render(StreamKind::mark_price, kFuturesMs);
  EXPECT_EQ(keys(object), (Keys{"e", "E", "s", "p", "i", "P", "r", "T"}));
  EXPECT_EQ(object.at("e").as_string(), "markPriceUpdate");
  EXPECT_EQ(object.at("p").as_string(), "11794.15000000");
  EXPECT_EQ(object.at("i").as_string(), "11784.62659091");
  EXPECT_EQ(object.at("r").as_string(), "-0.00038167");
  EXPECT_EQ(object.at("T").as_int64(), 1'672'531'200'000);
}

TEST(EventRendererEnvelope, WrapsThePayload) {
  std::string out;
  render_envelope("btcusdt@trade", R"({"e":"trade","E":1})", out);
  EXPECT_EQ(out, R"({"stream":"btcusdt@trade","data":{"e":"trade","E":1}})");
  render_envelope("odd\"name\n", "[]", out);
  EXPECT_EQ(parse(out).as_object().at("stream").as_string(), "odd\"name\n");
}

TEST(EventRendererShutdown, BothTimeUnits) {
  std::string out;
  render_server_shutdown(1'770'123'456'789'123, TimeUnit::millisecond, out);
  EXPECT_EQ(out, R"({"e":"serverShutdown","E":1770123456789})");
  render_server_shutdown(1'770'123'456'789'123, TimeUnit::microsecond, out);
  EXPECT_EQ(out, R"({"e":"serverShutdown","E":1770123456789123})");
  std::string combined;
  render_envelope(kServerShutdownStream, out, combined);
  EXPECT_EQ(parse(combined).as_object().at("stream").as_string(), "!serverShutdown");
}

TEST(EventRendererMalformed, EachKindIsBrokenAsAdvertised) {
  const std::string stream = "btcusdt@trade";
  const std::string payload =
      R"({"e":"trade","E":1672515782136,"s":"BTCUSDT","t":1,"p":"1.0","q":"1.0","T":1,"m":true,"M":true})";
  std::string out;
  for (bool combined : {false, true}) {
    render_malformed(MalformedKind::truncated_json, stream, payload, combined, kNowUs, TimeUnit::millisecond, out);
    EXPECT_FALSE(is_json(out)) << out;
    EXPECT_FALSE(out.empty());

    render_malformed(MalformedKind::not_json, stream, payload, combined, kNowUs, TimeUnit::millisecond, out);
    EXPECT_FALSE(is_json(out)) << out;

    render_malformed(MalformedKind::unsubscribed_stream, stream, payload, combined, kNowUs, TimeUnit::millisecond, out);
    const auto other = parse(out).as_object();
    if (combined) {
      EXPECT_EQ(other.at("stream").as_string(), "nosuchusdt@trade");
      EXPECT_EQ(other.at("data").as_object().at("s").as_string(), kUnsubscribedSymbol);
    } else {
      EXPECT_EQ(other.at("s").as_string(), kUnsubscribedSymbol);
    }

    render_malformed(MalformedKind::missing_stream, stream, payload, combined, kNowUs, TimeUnit::millisecond, out);
    const auto missing = parse(out).as_object();
    EXPECT_FALSE(missing.contains("stream"));
    EXPECT_EQ(missing.at("data").as_object().at("s").as_string(), "BTCUSDT");

    render_malformed(MalformedKind::wrong_types, stream, payload, combined, kNowUs, TimeUnit::millisecond, out);
    const auto wrong = parse(out).as_object();
    const auto& data = combined ? wrong.at("data").as_object() : wrong;
    if (combined) {
      EXPECT_EQ(wrong.at("stream").as_string(), stream);
    }
    EXPECT_TRUE(data.at("E").is_string());
    EXPECT_TRUE(data.at("e").is_number());
    EXPECT_TRUE(data.at("p").is_double());
  }
}

// Every kind the model produces, in every format, is valid JSON with the
// types clients expect, and the reused string stops allocating once warm.
TEST(EventRendererMalformed, HostileUpstreamShapes) {
  const std::string stream = "btcusdt@trade";
  const std::string payload = R"({"e":"trade","E":1,"s":"BTCUSDT","t":1})";
  std::string out;
  render_malformed(MalformedKind::duplicate_data, stream, payload, true, kNowUs, TimeUnit::millisecond, out);
  EXPECT_EQ(out, R"({"stream":"btcusdt@trade","data":)" + payload + R"(,"data":)" + payload + "}");
  render_malformed(MalformedKind::binary_frame, stream, payload, false, kNowUs, TimeUnit::millisecond, out);
  EXPECT_EQ(out, payload);
  render_malformed(MalformedKind::deep_nesting, stream, payload, false, kNowUs, TimeUnit::millisecond, out);
  EXPECT_EQ(out, std::string(2000, '[') + std::string(2000, ']'));
  render_malformed(MalformedKind::max_id, stream, payload, true, kNowUs, TimeUnit::millisecond, out);
  EXPECT_EQ(out, R"({"result":null,"id":9223372036854775807})");
  render_malformed(MalformedKind::empty_frame, stream, payload, true, kNowUs, TimeUnit::millisecond, out);
  EXPECT_TRUE(out.empty());
}

TEST(EventRendererModel, EveryKindEveryFormatIsValidJson) {
  const auto symbols = SymbolList::from_csv("btcusdt,ethusdt,pepeusdt,1000shibusdt,xyzusdt");
  MarketModel model{symbols, 9, kNowUs};
  std::vector<StreamId> streams;
  for (const char* name :
       {"btcusdt@trade", "ethusdt@aggTrade", "pepeusdt@kline_1s", "btcusdt@kline_1M", "xyzusdt@bookTicker",
        "1000shibusdt@miniTicker", "btcusdt@ticker", "ethusdt@depth5", "pepeusdt@depth20@100ms", "btcusdt@markPrice@1s",
        "btcusdt@depth", "btcusdt@depth@100ms", "!miniTicker@arr"}) {
    streams.push_back(model.open_stream(*parse_stream_spec(name, symbols).spec));
  }
  std::string out;
  std::string envelope;
  for (int round = 0; round < 30; ++round) {
    for (auto stream : streams) {
      const auto& ev = model.advance(stream, kNowUs + round * 700'000);
      for (auto format : {kSpotMs, kSpotUs, kFuturesMs}) {
        render_event(ev, format, out);
        const auto value = parse(out);
        ASSERT_TRUE(value.is_object() || value.is_array()) << out;
        if (value.is_object() && value.as_object().contains("E")) {
          const auto e = value.as_object().at("E").as_int64();
          ASSERT_EQ(e, format.unit == TimeUnit::millisecond ? ev.time_us / 1000 : ev.time_us);
        }
        render_envelope(model.spec(stream).name, out, envelope);
        ASSERT_EQ(parse(envelope).as_object().at("stream").as_string(), model.spec(stream).name);
      }
    }
  }
  // Warm: rendering the largest payload again reuses the same buffer.
  const auto& ev = model.advance(streams.back(), kNowUs);
  render_event(ev, kSpotMs, out);
  const auto* data = out.data();
  const auto capacity = out.capacity();
  for (int i = 0; i < 100; ++i)
    render_event(model.advance(streams[static_cast<std::size_t>(i) % streams.size()], kNowUs), kSpotMs, out);
  EXPECT_EQ(out.data(), data);
  EXPECT_EQ(out.capacity(), capacity);
}

TEST(EventRendererModel, PricesAreStringsIdsAndTimesAreNumbers) {
  const auto symbols = SymbolList::from_csv("btcusdt");
  MarketModel model{symbols, 1, kNowUs};
  const auto stream = model.open_stream(*parse_stream_spec("btcusdt@aggTrade", symbols).spec);
  std::string out;
  render_event(model.advance(stream, kNowUs), kSpotMs, out);
  const auto object = parse(out).as_object();
  EXPECT_TRUE(object.at("p").is_string());
  EXPECT_TRUE(object.at("q").is_string());
  EXPECT_TRUE(object.at("a").is_int64());
  EXPECT_TRUE(object.at("T").is_int64());
  EXPECT_TRUE(object.at("m").is_bool());
  EXPECT_GT(std::stod(std::string(object.at("p").as_string())), 1000.0);
}

}  // namespace
}  // namespace tickrelay::sim
