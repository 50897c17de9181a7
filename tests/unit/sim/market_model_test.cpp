#include "market_model.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "symbol_list.hpp"

namespace tickrelay::sim {
namespace {

// 2023-11-14 22:13:20 UTC, a Tuesday.
constexpr std::int64_t kStart = 1'700'000'000'000'000;
constexpr std::int64_t kSecond = 1'000'000;
constexpr std::int64_t kDay = 86'400 * kSecond;

double as_double(std::int64_t value, int decimals) { return static_cast<double>(value) / std::pow(10.0, decimals); }

class MarketModelTest : public ::testing::Test {
 protected:
  SymbolList symbols_ = SymbolList::from_csv("btcusdt,ethusdt,pepeusdt,xyzusdt");
  MarketModel model_{symbols_, 42, kStart};

  StreamId open(const std::string& name) {
    auto parsed = parse_stream_spec(name, symbols_);
    EXPECT_TRUE(parsed) << name;
    return model_.open_stream(*parsed.spec);
  }
};

TEST_F(MarketModelTest, SameNameSameStream) {
  const auto a = open("btcusdt@trade");
  const auto b = open("btcusdt@aggTrade");
  EXPECT_NE(a, b);
  EXPECT_EQ(open("btcusdt@trade"), a);
  EXPECT_EQ(model_.stream_count(), 2u);
  EXPECT_EQ(model_.spec(b).name, "btcusdt@aggTrade");
}

TEST_F(MarketModelTest, ProductsHaveSeparateStreamsOnTheSamePrices) {
  const auto spec = *parse_stream_spec("btcusdt@bookTicker", symbols_).spec;
  const auto spot = model_.open_stream(spec);
  const auto futures = model_.open_stream(spec, Flavour::usdm_futures);
  EXPECT_NE(spot, futures);
  EXPECT_EQ(model_.open_stream(spec, Flavour::usdm_futures), futures);
  EXPECT_EQ(model_.product(futures), Flavour::usdm_futures);
  EXPECT_EQ(model_.endpoint(spot), Endpoint::spot);
  EXPECT_EQ(model_.endpoint(futures), Endpoint::usdm_public);
  const auto kline = model_.open_stream(*parse_stream_spec("btcusdt@kline_1h", symbols_).spec, Flavour::usdm_futures);
  EXPECT_EQ(model_.endpoint(kline), Endpoint::usdm_market);

  const auto spot_u = model_.advance(spot, kStart).id;
  const auto& ev = model_.advance(futures, kStart + 1);
  EXPECT_NE(ev.id, spot_u + 1);  // independent counters
  EXPECT_EQ(model_.advance(spot, kStart + 2).id, spot_u + 1);
  EXPECT_EQ(ev.symbol, &model_.symbol(0));  // one market price for both
}

TEST_F(MarketModelTest, TradeIdsIncreaseByOnePerEvent) {
  const auto s = open("btcusdt@trade");
  std::uint64_t last = model_.advance(s, kStart).id;
  EXPECT_GT(last, 1'000'000u);  // realistic magnitude from the first event
  for (int i = 1; i <= 1000; ++i) {
    const auto& ev = model_.advance(s, kStart + i);
    ASSERT_EQ(ev.id, last + 1);
    last = ev.id;
  }
  EXPECT_EQ(model_.sequence(s), 1001u);
}

TEST_F(MarketModelTest, AggTradeRangesAreContiguous) {
  const auto s = open("ethusdt@aggTrade");
  auto first = model_.advance(s, kStart);
  EXPECT_LE(first.first_id, first.last_id);
  for (int i = 1; i <= 500; ++i) {
    const auto& ev = model_.advance(s, kStart + i);
    ASSERT_EQ(ev.id, first.id + 1);
    ASSERT_EQ(ev.first_id, first.last_id + 1);
    ASSERT_GE(ev.last_id, ev.first_id);
    ASSERT_LE(ev.last_id - ev.first_id, 2u);
    first = ev;
  }
}

TEST_F(MarketModelTest, BookTickerAndDepthUpdateIds) {
  const auto book = open("btcusdt@bookTicker");
  const auto depth = open("btcusdt@depth10@100ms");
  std::uint64_t last_book = model_.advance(book, kStart).id;
  auto last_depth = model_.advance(depth, kStart).id;
  for (int i = 1; i <= 200; ++i) {
    ASSERT_EQ(model_.advance(book, kStart + i).id, last_book + 1);
    ++last_book;
    const auto& ev = model_.advance(depth, kStart + i);
    ASSERT_EQ(ev.id, last_depth + 1);
    ASSERT_EQ(ev.first_id, ev.id);
    ASSERT_EQ(ev.prev_id, last_depth);
    last_depth = ev.id;
  }
}

TEST_F(MarketModelTest, StreamsCountIndependently) {
  const auto a = open("btcusdt@trade");
  const auto b = open("ethusdt@trade");
  const auto a0 = model_.advance(a, kStart).id;
  for (int i = 0; i < 10; ++i) model_.advance(b, kStart);
  EXPECT_EQ(model_.advance(a, kStart).id, a0 + 1);
}

TEST_F(MarketModelTest, SkipConsumesAnIdWithoutAnEvent) {
  const auto trade = open("btcusdt@trade");
  const auto kline = open("btcusdt@kline_1m");
  const auto depth = open("btcusdt@depth5");
  const auto t0 = model_.advance(trade, kStart).id;
  const auto l0 = model_.advance(kline, kStart).kline.last_id;
  const auto u0 = model_.advance(depth, kStart).id;
  model_.skip(trade, kStart + 1);
  model_.skip(kline, kStart + 1);
  model_.skip(depth, kStart + 1);
  EXPECT_EQ(model_.sequence(trade), 2u);
  EXPECT_EQ(model_.advance(trade, kStart + 2).id, t0 + 2);
  EXPECT_EQ(model_.advance(kline, kStart + 2).kline.last_id, l0 + 2);
  const auto& ev = model_.advance(depth, kStart + 2);
  EXPECT_EQ(ev.id, u0 + 2);
  EXPECT_EQ(ev.prev_id, u0 + 1);  // pu names the lost update, so the gap shows
}

TEST_F(MarketModelTest, SameSeedSameEventsOtherSeedOtherPrices) {
  MarketModel again{symbols_, 42, kStart};
  MarketModel other{symbols_, 43, kStart};
  const auto spec = *parse_stream_spec("xyzusdt@trade", symbols_).spec;
  const auto s1 = model_.open_stream(spec);
  const auto s2 = again.open_stream(spec);
  const auto s3 = other.open_stream(spec);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const auto a = model_.advance(s1, kStart + i);
    const auto& b = again.advance(s2, kStart + i);
    ASSERT_EQ(a.id, b.id);
    ASSERT_EQ(a.price, b.price);
    ASSERT_EQ(a.qty, b.qty);
    ASSERT_EQ(a.buyer_maker, b.buyer_maker);
    differs = differs || other.advance(s3, kStart + i).price != a.price;
  }
  EXPECT_TRUE(differs);
}

TEST_F(MarketModelTest, KnownPairsStartNearFamiliarPrices) {
  const auto& btc = model_.symbol(0);
  EXPECT_EQ(btc.name, "BTCUSDT");
  EXPECT_NEAR(as_double(btc.price, btc.price_decimals), 60000.0, 1.0);
  EXPECT_EQ(btc.price_decimals, 2);
  EXPECT_EQ(btc.qty_decimals, 5);
  EXPECT_NEAR(as_double(model_.symbol(1).price, model_.symbol(1).price_decimals), 3000.0, 1.0);
}

TEST(MarketModelPrices, StartPricesSpreadOverRealisticMagnitudes) {
  const auto pairs = SymbolList::from_file(std::string(TICKRELAY_SOURCE_DIR) + "/config/usdt-pairs.txt");
  MarketModel model{pairs, 7, kStart};
  double low = 1e300;
  double high = 0;
  for (std::size_t i = 0; i < model.symbol_count(); ++i) {
    const auto& s = model.symbol(i);
    const double price = as_double(s.price, s.price_decimals);
    low = std::min(low, price);
    high = std::max(high, price);
    ASSERT_GE(price, 0.005) << s.name;
    ASSERT_LE(price, 60001.0) << s.name;
    ASSERT_GE(s.price, 10'000) << s.name << ": too few ticks for small relative steps";
  }
  EXPECT_LT(low, 0.1);
  EXPECT_GT(high, 10000.0);
}

TEST_F(MarketModelTest, WalkTakesSmallStepsAndStaysPositive) {
  const auto s = open("pepeusdt@trade");
  std::int64_t previous = model_.advance(s, kStart).price;
  const std::int64_t start = previous;
  for (int i = 1; i < 200'000; ++i) {
    const auto& ev = model_.advance(s, kStart + i);
    ASSERT_GT(ev.price, 0);
    // One step moves a few basis points, plus the spread between bid and ask.
    ASSERT_LE(std::abs(static_cast<double>(ev.price - previous)) / static_cast<double>(previous), 2e-3);
    const auto& sym = *ev.symbol;
    ASSERT_LT(sym.bid, sym.ask);
    ASSERT_TRUE(ev.price == sym.bid || ev.price == sym.ask);
    ASSERT_EQ(ev.price == sym.bid, ev.buyer_maker);  // the maker side sets the price
    ASSERT_GT(ev.qty, 0);
    previous = ev.price;
  }
  EXPECT_GT(previous, start / 10);
  EXPECT_LT(previous, start * 10);
}

TEST_F(MarketModelTest, TwentyFourHourStatistics) {
  const auto s = open("btcusdt@ticker");
  const auto& first = model_.advance(s, kStart + kSecond);
  const auto f = first.symbol->first_trade_id;
  EXPECT_EQ(first.symbol->last_trade_id, f);  // one trade so far
  std::int64_t volume = first.symbol->volume;
  for (int i = 2; i <= 100; ++i) {
    const auto& sym = *model_.advance(s, kStart + i * kSecond).symbol;
    ASSERT_EQ(sym.last_trade_id - sym.first_trade_id + 1, static_cast<std::uint64_t>(i));
    ASSERT_GE(sym.high, sym.price);
    ASSERT_LE(sym.low, sym.price);
    ASSERT_GE(sym.high, sym.open);
    ASSERT_LE(sym.low, sym.open);
    ASSERT_EQ(sym.volume, volume + sym.last_qty);
    ASSERT_GT(sym.quote_cents, 0);
    volume = sym.volume;
    ASSERT_EQ(sym.window_start_us, kStart);
  }
  // A day later the window restarts from the current trade.
  const auto& next_day = *model_.advance(s, kStart + kDay + 5 * kSecond).symbol;
  EXPECT_EQ(next_day.window_start_us, kStart + kDay);
  EXPECT_EQ(next_day.open, next_day.price);
  EXPECT_EQ(next_day.volume, next_day.last_qty);
  EXPECT_EQ(next_day.first_trade_id, next_day.last_trade_id);
}

TEST_F(MarketModelTest, KlineBarsCloseAndReopen) {
  const auto s = open("btcusdt@kline_1m");
  const std::int64_t minute = 60 * kSecond;
  const std::int64_t bar_open = (kStart / minute + 1) * minute;  // a minute boundary
  auto ev = model_.advance(s, bar_open + kSecond);
  EXPECT_EQ(ev.kline.open_time_us, bar_open);
  EXPECT_EQ(ev.kline.close_time_us, bar_open + minute - 1);
  EXPECT_EQ(ev.kline.first_id, ev.kline.last_id);
  EXPECT_EQ(ev.kline.open, ev.kline.close);
  EXPECT_FALSE(ev.kline.closed);
  for (int i = 2; i < 59; ++i) {
    const auto& next = model_.advance(s, bar_open + i * kSecond);
    ASSERT_EQ(next.kline.last_id, ev.kline.last_id + 1);
    ASSERT_EQ(next.kline.first_id, ev.kline.first_id);
    ASSERT_EQ(next.kline.open, ev.kline.open);
    ASSERT_GE(next.kline.high, std::max(next.kline.open, next.kline.close));
    ASSERT_LE(next.kline.low, std::min(next.kline.open, next.kline.close));
    ASSERT_GT(next.kline.volume, ev.kline.volume);
    ASSERT_LE(next.kline.taker_volume, next.kline.volume);
    ASSERT_FALSE(next.kline.closed);
    ev = next;
  }
  // The first event after the bar's end closes it; the next opens a new bar.
  const auto closing = model_.advance(s, bar_open + minute + 500'000);
  EXPECT_TRUE(closing.kline.closed);
  EXPECT_EQ(closing.kline.open_time_us, bar_open);
  EXPECT_EQ(closing.kline.last_id, ev.kline.last_id + 1);
  const auto& opened = model_.advance(s, bar_open + minute + 600'000);
  EXPECT_FALSE(opened.kline.closed);
  EXPECT_EQ(opened.kline.open_time_us, bar_open + minute);
  EXPECT_EQ(opened.kline.first_id, closing.kline.last_id + 1);
  EXPECT_EQ(opened.kline.last_id, opened.kline.first_id);
}

TEST(KlineTimes, FixedIntervalsAlignToTheEpoch) {
  const std::int64_t t = kStart + 123'456'789;
  EXPECT_EQ(kline_open_time_us(KlineInterval::s1, t), t / kSecond * kSecond);
  EXPECT_EQ(kline_open_time_us(KlineInterval::h1, t) % (3600 * kSecond), 0);
  EXPECT_EQ(kline_open_time_us(KlineInterval::d1, t) % kDay, 0);
  EXPECT_EQ(kline_close_time_us(KlineInterval::h4, 0), 4 * 3600 * kSecond - 1);
  // In milliseconds the close time reads …999, as Binance's T does.
  EXPECT_EQ((kline_close_time_us(KlineInterval::m1, 1'672'515'780'000'000)) / 1000, 1'672'515'839'999);
}

TEST(KlineTimes, WeeksStartOnMonday) {
  // kStart is Tuesday 2023-11-14; that week opened Monday 2023-11-13 00:00 UTC.
  const std::int64_t monday = 1'699'833'600LL * kSecond;
  EXPECT_EQ(kline_open_time_us(KlineInterval::w1, kStart), monday);
  EXPECT_EQ(kline_open_time_us(KlineInterval::w1, monday), monday);
  EXPECT_EQ(kline_open_time_us(KlineInterval::w1, monday - 1), monday - 7 * kDay);
  EXPECT_EQ(kline_close_time_us(KlineInterval::w1, monday), monday + 7 * kDay - 1);
}

TEST(KlineTimes, MonthsFollowTheCalendar) {
  const std::int64_t nov1 = 1'698'796'800LL * kSecond;  // 2023-11-01
  const std::int64_t dec1 = 1'701'388'800LL * kSecond;  // 2023-12-01
  const std::int64_t feb1 = 1'706'745'600LL * kSecond;  // 2024-02-01
  const std::int64_t mar1 = 1'709'251'200LL * kSecond;  // 2024-03-01 (leap February)
  EXPECT_EQ(kline_open_time_us(KlineInterval::mo1, kStart), nov1);
  EXPECT_EQ(kline_close_time_us(KlineInterval::mo1, nov1), dec1 - 1);
  EXPECT_EQ(kline_open_time_us(KlineInterval::mo1, mar1 - 1), feb1);
  EXPECT_EQ(kline_close_time_us(KlineInterval::mo1, feb1), mar1 - 1);
}

TEST_F(MarketModelTest, DepthLevelsAreOrderedAroundTheSpread) {
  const auto s = open("ethusdt@depth20");
  for (int i = 0; i < 100; ++i) {
    const auto& ev = model_.advance(s, kStart + i);
    ASSERT_EQ(ev.depth_levels, 20);
    ASSERT_LT(ev.bids[0].price, ev.asks[0].price);
    ASSERT_EQ(ev.bids[0].price, ev.symbol->bid);
    ASSERT_EQ(ev.asks[0].price, ev.symbol->ask);
    for (int l = 1; l < 20; ++l) {
      ASSERT_LT(ev.bids[l].price, ev.bids[l - 1].price);
      ASSERT_GT(ev.asks[l].price, ev.asks[l - 1].price);
      ASSERT_GT(ev.bids[l].qty, 0);
      ASSERT_GT(ev.asks[l].qty, 0);
    }
  }
  EXPECT_EQ(model_.advance(open("ethusdt@depth5"), kStart).depth_levels, 5);
}

TEST_F(MarketModelTest, MarkPriceNearTheBookWithNextFunding) {
  const auto s = open("btcusdt@markPrice@1s");
  const auto& ev = model_.advance(s, kStart);
  const auto& sym = *ev.symbol;
  EXPECT_GE(ev.mark.mark, sym.bid);
  EXPECT_LE(ev.mark.mark, sym.ask);
  const double mark_e8 = static_cast<double>(ev.mark.mark) * 1e6;  // 2 price decimals → 8
  EXPECT_NEAR(static_cast<double>(ev.mark.index_e8), mark_e8, mark_e8 * 2e-4);
  EXPECT_GT(ev.mark.next_funding_us, kStart);
  EXPECT_LE(ev.mark.next_funding_us, kStart + 8 * 3600 * kSecond);
  EXPECT_EQ(ev.mark.next_funding_us % (8 * 3600 * kSecond), 0);
}

// A client's view of one diff-depth stream: price → quantity per side, as
// the events set them.
struct LocalBook {
  std::map<std::int64_t, std::int64_t> bids, asks;
  void apply(const Event& ev) {
    for (auto [levels, side] : {std::pair{&ev.changed_bids, &bids}, std::pair{&ev.changed_asks, &asks}}) {
      for (const auto& l : *levels) {
        if (l.qty == 0) {
          side->erase(l.price);
        } else {
          (*side)[l.price] = l.qty;
        }
      }
    }
  }
};

LocalBook whole(const DepthBook& book) {
  std::vector<PriceLevel> bids;
  std::vector<PriceLevel> asks;
  book.top(book.slots(BookSide::ask) + book.slots(BookSide::bid), bids, asks);
  LocalBook out;
  for (const auto& l : bids) out.bids[l.price] = l.qty;
  for (const auto& l : asks) out.asks[l.price] = l.qty;
  return out;
}

TEST_F(MarketModelTest, DiffDepthSpeedsShareOneBookAndEachStreamIsContiguous) {
  // Spot: U = previous u + 1 on each stream, although the other speed of the
  // same symbol changes the same book in between.
  const auto slow = open("btcusdt@depth");
  const auto fast = open("btcusdt@depth@100ms");
  const auto& book = model_.book(Flavour::spot, 0);
  std::uint64_t last[2] = {book.update_id(), book.update_id()};
  LocalBook local[2] = {whole(book), whole(book)};
  for (int i = 0; i < 300; ++i) {
    // Irregular interleaving: the fast stream runs up to three times in a row.
    const int which = (i % 4 == 3) ? 0 : 1;
    const auto stream = which == 0 ? slow : fast;
    const auto& ev = model_.advance(stream, kStart + i);
    ASSERT_EQ(ev.kind, StreamKind::diff_depth);
    ASSERT_EQ(ev.first_id, last[which] + 1) << i;
    ASSERT_EQ(ev.prev_id, last[which]);
    ASSERT_GE(ev.id, ev.first_id);
    ASSERT_EQ(ev.id, book.update_id());  // every change so far is in it
    ASSERT_FALSE(ev.changed_bids.empty() && ev.changed_asks.empty());
    last[which] = ev.id;
    local[which].apply(ev);
    const auto now = whole(book);
    ASSERT_EQ(local[which].bids, now.bids) << i;
    ASSERT_EQ(local[which].asks, now.asks) << i;
    for (std::size_t l = 1; l < ev.changed_bids.size(); ++l) {
      ASSERT_LT(ev.changed_bids[l].price, ev.changed_bids[l - 1].price);
    }
    for (std::size_t l = 1; l < ev.changed_asks.size(); ++l) {
      ASSERT_GT(ev.changed_asks[l].price, ev.changed_asks[l - 1].price);
    }
  }
}

TEST_F(MarketModelTest, FuturesDiffDepthChainsByPuAcrossFourSpeeds) {
  std::vector<StreamId> streams;
  for (const char* name : {"ethusdt@depth", "ethusdt@depth@100ms", "ethusdt@depth@250ms", "ethusdt@depth@500ms"}) {
    streams.push_back(model_.open_stream(*parse_stream_spec(name, symbols_).spec, Flavour::usdm_futures));
  }
  EXPECT_EQ(model_.endpoint(streams[0]), Endpoint::usdm_public);
  const auto& book = model_.book(Flavour::usdm_futures, 1);
  std::vector<std::uint64_t> last(streams.size(), book.update_id());
  for (int i = 0; i < 400; ++i) {
    const std::size_t which = static_cast<std::size_t>(i * 7 % 11) % streams.size();
    const auto& ev = model_.advance(streams[which], kStart + i);
    ASSERT_EQ(ev.prev_id, last[which]) << i;  // pu = this stream's previous u
    ASSERT_EQ(ev.first_id, last[which] + 1);
    last[which] = ev.id;
  }
}

TEST_F(MarketModelTest, DiffDepthBooksArePerProductAndSymbol) {
  const auto spot = open("btcusdt@depth");
  const auto futures = model_.open_stream(*parse_stream_spec("btcusdt@depth", symbols_).spec, Flavour::usdm_futures);
  const auto eth = open("ethusdt@depth");
  const auto futures_id = model_.book(Flavour::usdm_futures, 0).update_id();
  const auto eth_id = model_.book(Flavour::spot, 1).update_id();
  EXPECT_NE(model_.book(Flavour::spot, 0).update_id(), futures_id);  // separate counters
  for (int i = 0; i < 10; ++i) model_.advance(spot, kStart + i);
  EXPECT_EQ(model_.book(Flavour::usdm_futures, 0).update_id(), futures_id);
  EXPECT_EQ(model_.book(Flavour::spot, 1).update_id(), eth_id);
  EXPECT_EQ(model_.advance(futures, kStart).first_id, futures_id + 1);
  EXPECT_EQ(model_.advance(eth, kStart).first_id, eth_id + 1);
  EXPECT_EQ(&model_.book(Flavour::spot, 0), &model_.book(Flavour::spot, 0));
}

TEST_F(MarketModelTest, DiffDepthBookHonoursItsLevelCount) {
  MarketModel small{symbols_, 42, kStart, 7};
  const auto stream = small.open_stream(*parse_stream_spec("pepeusdt@depth@100ms", symbols_).spec);
  for (int i = 0; i < 500; ++i) {
    const auto& ev = small.advance(stream, kStart + i);
    ASSERT_LE(ev.changed_bids.size(), 7u);
    ASSERT_LE(ev.changed_asks.size(), 7u);
  }
  const auto& book = small.book(Flavour::spot, 2);
  EXPECT_EQ(book.slots(BookSide::ask), 7u);
  EXPECT_LE(book.slots(BookSide::bid), 7u);
  EXPECT_GE(book.price(BookSide::bid, book.slots(BookSide::bid) - 1), 1);
}

TEST_F(MarketModelTest, SkippedDiffDepthEventConsumesItsUpdateIds) {
  const auto depth = open("btcusdt@depth@100ms");
  const auto first = model_.advance(depth, kStart).id;
  model_.skip(depth, kStart + 1);
  const auto lost = model_.book(Flavour::spot, 0).update_id();
  ASSERT_GT(lost, first);
  const auto& ev = model_.advance(depth, kStart + 2);
  EXPECT_EQ(ev.first_id, lost + 1);
  EXPECT_GT(ev.first_id, first + 1);  // the client sees U > previous u + 1
  EXPECT_EQ(ev.prev_id, lost);
}

TEST_F(MarketModelTest, AllMiniTickersMovesEverySymbol) {
  const auto s = open("!miniTicker@arr");
  const auto& ev = model_.advance(s, kStart);
  EXPECT_EQ(ev.symbol, nullptr);
  ASSERT_EQ(ev.symbols.size(), 4u);
  for (const auto& sym : ev.symbols) EXPECT_EQ(sym.last_trade_id, sym.first_trade_id);
  model_.advance(s, kStart + 1);
  for (const auto& sym : ev.symbols) EXPECT_EQ(sym.last_trade_id, sym.first_trade_id + 1);
}

}  // namespace
}  // namespace tickrelay::sim
