#include "symbol_table.hpp"

#include <gtest/gtest.h>

namespace tickrelay::client {
namespace {

MarketEvent priced(std::string_view symbol, double price, std::uint64_t e, std::optional<double> change = {}) {
  MarketEvent ev;
  ev.kind = change ? EventKind::kline : EventKind::trade;
  ev.symbol = symbol;
  ev.price = price;
  ev.has_price = true;
  ev.event_time = e;
  ev.has_event_time = true;
  if (change) {
    ev.change_pct = *change;
    ev.has_change = true;
  }
  return ev;
}

TEST(SymbolTable, InternGivesStableIds) {
  SymbolTable table;
  const auto btc = table.intern("BTCUSDT");
  const auto eth = table.intern("ETHUSDT");
  EXPECT_NE(btc, eth);
  EXPECT_EQ(table.intern("BTCUSDT"), btc);
  EXPECT_EQ(table.states()[eth].name, "ETHUSDT");
}

TEST(SymbolTable, ChangeAgainstFirstPriceForTrades) {
  SymbolTable table;
  const auto id = table.intern("X");
  table.update(id, priced("X", 100, 1));
  table.update(id, priced("X", 110, 2));
  const SymbolState& s = table.states()[id];
  EXPECT_DOUBLE_EQ(s.change_pct, 10.0);
  EXPECT_TRUE(s.change_from_first);
  EXPECT_EQ(s.updates, 2u);
}

TEST(SymbolTable, EventChangeWinsForKlines) {
  SymbolTable table;
  const auto id = table.intern("X");
  table.update(id, priced("X", 100, 1, 3.5));
  EXPECT_DOUBLE_EQ(table.states()[id].change_pct, 3.5);
  EXPECT_FALSE(table.states()[id].change_from_first);
}

TEST(SymbolTable, OlderEventsFromLaggingConnectionsAreIgnored) {
  SymbolTable table;
  const auto id = table.intern("X");
  table.update(id, priced("X", 100, 10));
  table.update(id, priced("X", 120, 30));
  table.update(id, priced("X", 101, 20));  // another connection, behind
  EXPECT_DOUBLE_EQ(table.states()[id].last_price, 120);
}

TEST(SymbolTable, AlertsOncePerCrossing) {
  SymbolTable table(5.0);
  const auto id = table.intern("X");
  EXPECT_FALSE(table.update(id, priced("X", 100, 1)));
  EXPECT_FALSE(table.update(id, priced("X", 103, 2)));
  const auto up = table.update(id, priced("X", 106, 3));
  ASSERT_TRUE(up);
  EXPECT_TRUE(up->above);
  EXPECT_EQ(up->symbol, "X");
  EXPECT_FALSE(table.update(id, priced("X", 107, 4)));  // still above: no repeat
  const auto down = table.update(id, priced("X", 102, 5));
  ASSERT_TRUE(down);
  EXPECT_FALSE(down->above);
  EXPECT_TRUE(table.update(id, priced("X", 94, 6)));  // a fall counts too
}

TEST(SymbolTable, MergeKeepsEarliestFirstAndLatestLast) {
  SymbolTable a, b;
  a.update(a.intern("X"), priced("X", 100, 10));
  a.update(a.intern("X"), priced("X", 105, 20));
  b.update(b.intern("X"), priced("X", 90, 5));
  b.update(b.intern("X"), priced("X", 99, 15));
  b.update(b.intern("Y"), priced("Y", 1, 1, 2.0));
  std::vector<SymbolState> merged;
  merge_symbol_states(merged, a.states());
  merge_symbol_states(merged, b.states());
  ASSERT_EQ(merged.size(), 2u);
  EXPECT_DOUBLE_EQ(merged[0].first_price, 90);
  EXPECT_DOUBLE_EQ(merged[0].last_price, 105);
  EXPECT_NEAR(merged[0].change_pct, (105.0 - 90.0) / 90.0 * 100.0, 1e-9);
  EXPECT_EQ(merged[0].updates, 4u);
}

TEST(SymbolTable, TopMoversByAbsoluteChange) {
  SymbolTable table;
  table.update(table.intern("A"), priced("A", 1, 1, 1.0));
  table.update(table.intern("B"), priced("B", 1, 1, -7.0));
  table.update(table.intern("C"), priced("C", 1, 1, 3.0));
  table.intern("D");  // never priced
  const auto top = top_movers(table.states(), 2);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].name, "B");
  EXPECT_EQ(top[1].name, "C");
  EXPECT_EQ(top_movers(table.states(), 10).size(), 3u);
}

}  // namespace
}  // namespace tickrelay::client
