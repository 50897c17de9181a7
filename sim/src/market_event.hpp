#pragma once
// What MarketModel produces and the renderer reads: plain data, no JSON.
// Prices are integers in the symbol's ticks, quantities in its lots, so the
// renderer prints exact decimals without floating-point formatting.
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "sim_types.hpp"

namespace tickrelay::sim {

// One symbol's published state; the model updates it on every event that
// touches the symbol.
struct SymbolState {
  std::string name;               // uppercase, as payloads spell it: "BTCUSDT"
  int price_decimals = 2;         // tick = 10^-price_decimals
  int qty_decimals = 0;           // lot  = 10^-qty_decimals
  std::int64_t price = 0;         // last trade price, ticks (always >= 1)
  std::int64_t last_qty = 0;      // lots
  bool last_buyer_maker = false;  // the last trade's `m`
  std::int64_t bid = 0;           // best bid, ticks (< ask)
  std::int64_t ask = 0;
  std::int64_t bid_qty = 0;  // lots
  std::int64_t ask_qty = 0;
  // 24h statistics; the window restarts every 24h from the model's start.
  std::int64_t window_start_us = 0;
  std::int64_t open = 0;  // ticks, also the ticker's `x`
  std::int64_t high = 0;
  std::int64_t low = 0;
  std::int64_t volume = 0;           // lots
  std::int64_t quote_cents = 0;      // quote-asset volume in 1/100 units
  std::uint64_t first_trade_id = 0;  // ticker F; n = L - F + 1
  std::uint64_t last_trade_id = 0;   // ticker L
};

struct KlineBar {
  KlineInterval interval = KlineInterval::m1;
  std::int64_t open_time_us = 0;                        // t
  std::int64_t close_time_us = 0;                       // T: open + length - 1 µs (…999 in ms)
  std::uint64_t first_id = 0;                           // f
  std::uint64_t last_id = 0;                            // L; n = L - f + 1
  std::int64_t open = 0, high = 0, low = 0, close = 0;  // ticks
  std::int64_t volume = 0;                              // lots
  std::int64_t quote_cents = 0;
  std::int64_t taker_volume = 0;  // lots bought by takers (V)
  std::int64_t taker_quote_cents = 0;
  bool closed = false;  // x: this event closes the bar
};

struct PriceLevel {
  std::int64_t price = 0;  // ticks
  std::int64_t qty = 0;    // lots
};

struct MarkData {
  std::int64_t mark = 0;             // ticks
  std::int64_t index_e8 = 0;         // 10^-8 units
  std::int64_t settle_e8 = 0;        // estimated settle price
  std::int64_t funding_rate_e8 = 0;  // may be negative
  std::int64_t next_funding_us = 0;  // next 00/08/16h UTC
};

inline constexpr int kMaxDepthLevels = 20;

// One event as produced by MarketModel::advance. Only the fields of `kind`
// are meaningful; the struct is reused by the model, so copy what must outlive
// the next advance.
struct Event {
  StreamKind kind = StreamKind::trade;
  std::int64_t time_us = 0;              // E (and trade/transaction T)
  const SymbolState* symbol = nullptr;   // null for all_mini_tickers
  std::span<const SymbolState> symbols;  // all_mini_tickers: every symbol
  std::uint64_t id = 0;                  // trade t, aggTrade a, bookTicker/depth u, depth lastUpdateId
  std::uint64_t first_id = 0;            // aggTrade f, depth U
  std::uint64_t last_id = 0;             // aggTrade l
  std::uint64_t prev_id = 0;             // futures depth pu (the previous event's u)
  std::int64_t price = 0;                // trade/aggTrade p, ticks
  std::int64_t qty = 0;                  // trade/aggTrade q, lots
  bool buyer_maker = false;              // m
  KlineBar kline;
  int depth_levels = 0;
  std::array<PriceLevel, kMaxDepthLevels> bids{};
  std::array<PriceLevel, kMaxDepthLevels> asks{};
  // diff_depth: every level changed since the stream's previous event, best
  // first, with its current quantity (0: removed). Reused, so once grown
  // they allocate no more.
  std::vector<PriceLevel> changed_bids;
  std::vector<PriceLevel> changed_asks;
  MarkData mark;
};

}  // namespace tickrelay::sim
