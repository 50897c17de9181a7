#include "books/book_sync.hpp"

#include <gtest/gtest.h>

#include "books/depth_message.hpp"

namespace tickrelay::books {
namespace {

PriceLevel level(const std::string& price, const std::string& qty) {
  PriceLevel l;
  EXPECT_TRUE(price_key(price, l.key)) << price;
  l.price = price;
  l.quantity = qty;
  return l;
}

DepthUpdate update(std::int64_t first, std::int64_t final, std::int64_t previous = -1,
                   std::vector<PriceLevel> bids = {}, std::vector<PriceLevel> asks = {}) {
  DepthUpdate u;
  u.event_time = 1000 + final;
  u.first_id = first;
  u.final_id = final;
  u.previous_final_id = previous;
  u.bids = std::move(bids);
  u.asks = std::move(asks);
  return u;
}

DepthSnapshot snapshot(std::int64_t id) {
  DepthSnapshot s;
  s.last_update_id = id;
  s.bids = {level("100.00", "1.0"), level("99.00", "2.0")};
  s.asks = {level("101.00", "1.5")};
  return s;
}

std::size_t resyncs(const BookSync& sync, ResyncReason reason) {
  return sync.resyncs()[static_cast<std::size_t>(reason)];
}

TEST(BookSync, SpotFollowsBinancesProcedure) {
  BookSync sync(BookRule::spot, 100, 1000);
  EXPECT_TRUE(sync.on_update(update(95, 98)));  // first event: ask for a snapshot
  sync.snapshot_requested();
  EXPECT_FALSE(sync.on_update(update(99, 101, -1, {level("100.00", "0")})));
  EXPECT_FALSE(sync.on_update(update(102, 104, -1, {level("98.50", "3")})));
  EXPECT_FALSE(sync.synced());
  // Snapshot at 100: 95-98 is held by it, 99-101 straddles it, 102-104 follows.
  EXPECT_FALSE(sync.on_snapshot(snapshot(100)));
  ASSERT_TRUE(sync.synced());
  EXPECT_EQ(sync.book().last_update_id(), 104);
  EXPECT_FALSE(sync.book().bids().contains(100'00000000));
  EXPECT_EQ(sync.book().bids().at(98'50000000).quantity, "3");
  EXPECT_EQ(sync.book().bids().begin()->second.price, "99.00");
  // An event the book holds is skipped; the next one applies.
  EXPECT_FALSE(sync.on_update(update(103, 104)));
  EXPECT_FALSE(sync.on_update(update(105, 107, -1, {}, {level("101.00", "0"), level("102.00", "4")})));
  EXPECT_EQ(sync.book().last_update_id(), 107);
  EXPECT_EQ(sync.book().asks().begin()->second.price, "102.00");
  EXPECT_EQ(resyncs(sync, ResyncReason::gap), 0u);
}

TEST(BookSync, SpotHoleInTheIdsResyncs) {
  BookSync sync(BookRule::spot, 100, 1000);
  sync.on_update(update(99, 101));
  sync.snapshot_requested();
  sync.on_snapshot(snapshot(100));
  ASSERT_TRUE(sync.synced());
  // 102-103 never came.
  EXPECT_TRUE(sync.on_update(update(104, 106)));
  EXPECT_FALSE(sync.synced());
  EXPECT_EQ(sync.book().bid_levels(), 0u);
  EXPECT_EQ(resyncs(sync, ResyncReason::gap), 1u);
  sync.snapshot_requested();
  EXPECT_FALSE(sync.on_update(update(107, 108)));
  EXPECT_FALSE(sync.on_snapshot(snapshot(107)));
  EXPECT_TRUE(sync.synced());
  EXPECT_EQ(sync.book().last_update_id(), 108);
}

TEST(BookSync, SpotSnapshotOlderThanTheBufferIsAskedAgain) {
  BookSync sync(BookRule::spot, 100, 1000);
  sync.on_update(update(120, 125));
  sync.snapshot_requested();
  EXPECT_TRUE(sync.on_snapshot(snapshot(100)));  // 101-119 would be missing
  EXPECT_FALSE(sync.synced());
  EXPECT_EQ(resyncs(sync, ResyncReason::stale_snapshot), 1u);
  EXPECT_EQ(sync.buffered(), 1u);
  sync.snapshot_requested();
  EXPECT_FALSE(sync.on_snapshot(snapshot(122)));
  EXPECT_TRUE(sync.synced());
  EXPECT_EQ(sync.book().last_update_id(), 125);
}

TEST(BookSync, FuturesFollowsPreviousFinalIds) {
  BookSync sync(BookRule::futures, 100, 1000);
  EXPECT_TRUE(sync.on_update(update(90, 95, 89)));
  sync.snapshot_requested();
  sync.on_update(update(96, 100, 95));
  sync.on_update(update(101, 104, 100));
  // Snapshot at 100: 90-95 dropped (u < 100); 96-100 has U <= 100 <= u.
  EXPECT_FALSE(sync.on_snapshot(snapshot(100)));
  ASSERT_TRUE(sync.synced());
  EXPECT_EQ(sync.book().last_update_id(), 104);
  EXPECT_FALSE(sync.on_update(update(105, 110, 104)));
  // pu does not match the previous u: resync.
  EXPECT_TRUE(sync.on_update(update(115, 120, 112)));
  EXPECT_EQ(resyncs(sync, ResyncReason::gap), 1u);
  EXPECT_FALSE(sync.synced());
}

TEST(BookSync, FuturesFirstEventMustStraddleTheSnapshot) {
  BookSync sync(BookRule::futures, 100, 1000);
  sync.on_update(update(101, 104, 100));
  sync.snapshot_requested();
  EXPECT_TRUE(sync.on_snapshot(snapshot(100)));  // U 101 > 100
  EXPECT_EQ(resyncs(sync, ResyncReason::stale_snapshot), 1u);
  sync.snapshot_requested();
  EXPECT_FALSE(sync.on_snapshot(snapshot(102)));
  EXPECT_TRUE(sync.synced());
  // With nothing buffered after the snapshot, the next event must still straddle it.
  BookSync late(BookRule::futures, 100, 1000);
  late.on_update(update(90, 95, 89));
  late.snapshot_requested();
  EXPECT_FALSE(late.on_snapshot(snapshot(100)));
  EXPECT_TRUE(late.synced());
  EXPECT_FALSE(late.on_update(update(96, 99, 95)));  // held by the snapshot
  EXPECT_FALSE(late.on_update(update(100, 103, 99)));
  EXPECT_EQ(late.book().last_update_id(), 103);
}

TEST(BookSync, BufferIsBoundedWhileTheSnapshotIsLate) {
  BookSync sync(BookRule::spot, 100, 3);
  sync.on_update(update(1, 1));
  sync.snapshot_requested();
  for (std::int64_t i = 2; i <= 10; ++i) EXPECT_FALSE(sync.on_update(update(i, i)));
  EXPECT_LE(sync.buffered(), 3u);
  EXPECT_GE(resyncs(sync, ResyncReason::buffer_overflow), 1u);
  // The old snapshot no longer meets the buffer: asked again.
  EXPECT_TRUE(sync.on_snapshot(snapshot(1)));
}

TEST(BookSync, FailedSnapshotIsAskedAgainWithTheBufferKept) {
  BookSync sync(BookRule::spot, 100, 1000);
  sync.on_update(update(99, 101));
  sync.snapshot_requested();
  EXPECT_TRUE(sync.awaiting_snapshot());
  EXPECT_TRUE(sync.on_snapshot_failed());
  EXPECT_FALSE(sync.awaiting_snapshot());
  EXPECT_EQ(sync.buffered(), 1u);
}

TEST(OrderBook, KeepsAtMostMaxLevelsPerSideDroppingTheWorst) {
  OrderBook book(2);
  DepthUpdate u;
  u.bids = {level("10", "1"), level("12", "1"), level("11", "1")};
  u.asks = {level("15", "1"), level("13", "1"), level("14", "1")};
  book.apply(u);
  ASSERT_EQ(book.bid_levels(), 2u);
  EXPECT_EQ(book.bids().begin()->second.price, "12");
  EXPECT_FALSE(book.bids().contains(10'00000000));
  ASSERT_EQ(book.ask_levels(), 2u);
  EXPECT_EQ(book.asks().begin()->second.price, "13");
  EXPECT_FALSE(book.asks().contains(15'00000000));
  book.set_last_update_id(7);
  EXPECT_EQ(book.json(1, false, 0, 0), R"({"lastUpdateId":7,"bids":[["12","1"]],"asks":[["13","1"]]})");
  EXPECT_EQ(book.json(5, true, 11, 12),
            R"({"lastUpdateId":7,"E":11,"T":12,"bids":[["12","1"],["11","1"]],"asks":[["13","1"],["14","1"]]})");
  EXPECT_GT(book.bytes(), 0u);
}

TEST(DepthParser, ReadsSpotAndFuturesEventsRawOrEnveloped) {
  DepthParser parser;
  DepthUpdate u;
  ASSERT_EQ(
      parser.parse_update(
          R"({"e":"depthUpdate","E":123,"s":"BNBBTC","U":157,"u":160,"b":[["0.0024","10"]],"a":[["0.0026","100"],["0.0027","0.000"]]})",
          u),
      nullptr);
  EXPECT_EQ(u.event_time, 123);
  EXPECT_EQ(u.first_id, 157);
  EXPECT_EQ(u.final_id, 160);
  EXPECT_EQ(u.previous_final_id, -1);
  ASSERT_EQ(u.bids.size(), 1u);
  EXPECT_EQ(u.bids[0].key, 240000);
  ASSERT_EQ(u.asks.size(), 2u);
  EXPECT_TRUE(u.asks[1].removes());
  EXPECT_FALSE(u.asks[0].removes());
  ASSERT_EQ(
      parser.parse_update(
          R"({"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":5,"T":4,"s":"BTCUSDT","U":10,"u":12,"pu":9,"b":[],"a":[]}})",
          u),
      nullptr);
  EXPECT_EQ(u.transaction_time, 4);
  EXPECT_EQ(u.previous_final_id, 9);
}

TEST(DepthParser, RefusesWhatIsNotADepthMessage) {
  DepthParser parser;
  DepthUpdate u;
  EXPECT_NE(parser.parse_update("not json", u), nullptr);
  EXPECT_NE(parser.parse_update(R"({"e":"depthUpdate","u":5})", u), nullptr);
  EXPECT_NE(parser.parse_update(R"({"U":6,"u":5})", u), nullptr);
  EXPECT_NE(parser.parse_update(R"({"U":1,"u":5,"b":[["1e5","1"]]})", u), nullptr);
  EXPECT_NE(parser.parse_update(R"({"U":1,"u":5,"b":[["1"]]})", u), nullptr);
  EXPECT_NE(parser.parse_update(R"({"U":1,"u":5,"b":[[1,2]]})", u), nullptr);
  EXPECT_NE(parser.parse_update(R"({"U":1,"u":5,"b":[["1","\"x"]]})", u), nullptr);
  EXPECT_NE(parser.parse_update(R"({"data":5})", u), nullptr);
  DepthSnapshot s;
  EXPECT_NE(parser.parse_snapshot(R"({"bids":[],"asks":[]})", s), nullptr);
  ASSERT_EQ(parser.parse_snapshot(R"({"lastUpdateId":1027024,"bids":[["4.00000000","431.00000000"]],"asks":[]})", s),
            nullptr);
  EXPECT_EQ(s.last_update_id, 1027024);
  EXPECT_EQ(s.bids[0].key, 400000000);
}

TEST(DepthParser, PriceKeys) {
  std::int64_t k = 0;
  EXPECT_TRUE(price_key("0.00000001", k));
  EXPECT_EQ(k, 1);
  EXPECT_TRUE(price_key("12345.678", k));
  EXPECT_EQ(k, 1234567800000);
  EXPECT_TRUE(price_key("1.123456780000", k));  // trailing zeros past 1e-8
  EXPECT_FALSE(price_key("1.123456789", k));
  EXPECT_FALSE(price_key("", k));
  EXPECT_FALSE(price_key(".", k));
  EXPECT_FALSE(price_key("1.2.3", k));
  EXPECT_FALSE(price_key("-1", k));
  EXPECT_FALSE(price_key("100000000000", k));
  EXPECT_TRUE(is_decimal("123456789012345.5"));
  EXPECT_FALSE(is_decimal("1,5"));
}

}  // namespace
}  // namespace tickrelay::books
