#include "depth_book.hpp"

#include <gtest/gtest.h>

#include <map>
#include <vector>

namespace tickrelay::sim {
namespace {

constexpr std::int64_t kCenter = 6'000'000;  // 60000.00 in ticks of 0.01
constexpr std::int64_t kGap = 60;
constexpr std::uint64_t kFirstId = 1'000'000;

DepthBook make_book(std::size_t levels = 50) { return DepthBook(kCenter, kGap, levels, 1e5 / 6e6, kFirstId, 7); }

// Every slot on its grid price, every bid below every ask, and the count of
// filled slots as the slots say.
void expect_sound(const DepthBook& book) {
  for (auto side : {BookSide::bid, BookSide::ask}) {
    std::size_t filled = 0;
    for (std::size_t slot = 0; slot < book.slots(side); ++slot) {
      const auto offset = static_cast<std::int64_t>(slot) * kGap;
      ASSERT_EQ(book.price(side, slot), side == BookSide::bid ? kCenter - kGap - offset : kCenter + offset);
      ASSERT_GE(book.qty(side, slot), 0);
      if (book.qty(side, slot) != 0) ++filled;
    }
    ASSERT_EQ(filled, book.level_count(side));
    ASSERT_GE(filled, 1u);  // neither side ever empties
  }
  std::vector<PriceLevel> bids;
  std::vector<PriceLevel> asks;
  book.top(book.slots(BookSide::ask), bids, asks);
  ASSERT_FALSE(bids.empty());
  ASSERT_FALSE(asks.empty());
  ASSERT_LT(bids.front().price, asks.front().price);
  for (std::size_t i = 1; i < bids.size(); ++i) ASSERT_LT(bids[i].price, bids[i - 1].price);
  for (std::size_t i = 1; i < asks.size(); ++i) ASSERT_GT(asks[i].price, asks[i - 1].price);
}

TEST(DepthBook, StartsFullOnItsGrid) {
  const auto book = make_book(50);
  EXPECT_EQ(book.update_id(), kFirstId);
  EXPECT_EQ(book.slots(BookSide::bid), 50u);
  EXPECT_EQ(book.slots(BookSide::ask), 50u);
  EXPECT_EQ(book.level_count(BookSide::bid), 50u);
  EXPECT_EQ(book.price(BookSide::bid, 0), kCenter - kGap);
  EXPECT_EQ(book.price(BookSide::ask, 0), kCenter);
  expect_sound(book);
}

TEST(DepthBook, BidsStopAbovePriceZero) {
  // Center 100, gap 30: bids at 70, 40 and 10 only, however many are asked for.
  const DepthBook book(100, 30, 1000, 1.0, 1, 1);
  EXPECT_EQ(book.slots(BookSide::bid), 3u);
  EXPECT_EQ(book.price(BookSide::bid, 2), 10);
  EXPECT_EQ(book.slots(BookSide::ask), 1000u);
}

TEST(DepthBook, RandomChangesStayOnTheGridAndNeverCross) {
  auto book = make_book(40);
  std::uint64_t id = book.update_id();
  for (int round = 0; round < 2000; ++round) {
    book.change_randomly(1 + round % 4);
    ASSERT_EQ(book.update_id(), id + 1 + static_cast<std::uint64_t>(round % 4));
    id = book.update_id();
    if (round % 100 == 0) expect_sound(book);
  }
  expect_sound(book);
  // Removals happen, and refills: the book is neither full nor sparse.
  EXPECT_LT(book.level_count(BookSide::bid) + book.level_count(BookSide::ask), 80u);
  EXPECT_GT(book.level_count(BookSide::bid) + book.level_count(BookSide::ask), 30u);
}

TEST(DepthBook, ChangesSinceReportsEachChangedLevelOnceWithItsCurrentQuantity) {
  auto book = make_book(10);
  const auto before = book.update_id();
  book.set(BookSide::bid, 3, 111);
  book.set(BookSide::ask, 0, 5);
  book.set(BookSide::bid, 3, 222);  // changed twice: reported once, as it is now
  book.set(BookSide::bid, 1, 0);    // removed
  EXPECT_EQ(book.update_id(), before + 4);
  std::vector<PriceLevel> bids;
  std::vector<PriceLevel> asks;
  book.changes_since(before, bids, asks);
  ASSERT_EQ(bids.size(), 2u);
  EXPECT_EQ(bids[0].price, book.price(BookSide::bid, 1));  // best first
  EXPECT_EQ(bids[0].qty, 0);
  EXPECT_EQ(bids[1].price, book.price(BookSide::bid, 3));
  EXPECT_EQ(bids[1].qty, 222);
  ASSERT_EQ(asks.size(), 1u);
  EXPECT_EQ(asks[0].qty, 5);
  book.changes_since(before + 3, bids, asks);
  EXPECT_EQ(bids.size(), 1u);
  EXPECT_TRUE(asks.empty());
  book.changes_since(book.update_id(), bids, asks);
  EXPECT_TRUE(bids.empty());
  EXPECT_TRUE(asks.empty());
  EXPECT_EQ(book.level_count(BookSide::bid), 9u);
}

TEST(DepthBook, TopSkipsEmptySlotsAndStopsAtTheLimit) {
  auto book = make_book(10);
  book.set(BookSide::ask, 0, 0);
  book.set(BookSide::ask, 2, 0);
  std::vector<PriceLevel> bids;
  std::vector<PriceLevel> asks;
  book.top(3, bids, asks);
  ASSERT_EQ(asks.size(), 3u);
  EXPECT_EQ(asks[0].price, book.price(BookSide::ask, 1));
  EXPECT_EQ(asks[1].price, book.price(BookSide::ask, 3));
  EXPECT_EQ(bids.size(), 3u);
  book.top(100, bids, asks);
  EXPECT_EQ(bids.size(), 10u);
  EXPECT_EQ(asks.size(), 8u);
}

TEST(DepthBook, ReplayingChangesOnAnOldCopyReproducesTheBook) {
  auto book = make_book(30);
  std::vector<PriceLevel> bids;
  std::vector<PriceLevel> asks;
  book.top(30, bids, asks);
  std::map<std::int64_t, std::int64_t> copy;  // price → qty, both sides (they never overlap)
  for (const auto& l : bids) copy[l.price] = l.qty;
  for (const auto& l : asks) copy[l.price] = l.qty;
  std::uint64_t seen = book.update_id();
  for (int round = 0; round < 300; ++round) {
    book.change_randomly(3);
    book.changes_since(seen, bids, asks);
    seen = book.update_id();
    for (const auto* side : {&bids, &asks}) {
      for (const auto& l : *side) {
        if (l.qty == 0) {
          copy.erase(l.price);
        } else {
          copy[l.price] = l.qty;
        }
      }
    }
  }
  book.top(30, bids, asks);
  std::map<std::int64_t, std::int64_t> now;
  for (const auto& l : bids) now[l.price] = l.qty;
  for (const auto& l : asks) now[l.price] = l.qty;
  EXPECT_EQ(copy, now);
}

}  // namespace
}  // namespace tickrelay::sim
