#pragma once
// The simulated market: per-symbol prices that random-walk deterministically
// from a seed, 24h statistics, and per-stream id counters. No I/O, no clock:
// the caller passes the Unix time of each event.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "depth_book.hpp"
#include "market_event.hpp"
#include "stream_spec.hpp"

namespace tickrelay::sim {

class SymbolList;

// Start of the kline bar containing `unix_us` (UTC): fixed lengths count from
// the epoch, weeks start on Monday, months on the 1st.
std::int64_t kline_open_time_us(KlineInterval interval, std::int64_t unix_us);
// Last microsecond of the bar that opens at `open_us` (Binance's T, …999).
std::int64_t kline_close_time_us(KlineInterval interval, std::int64_t open_us);

class MarketModel {
 public:
  // A thousand levels a side: deeper than what most clients keep, and a
  // spot snapshot (limit up to 5000) still holds the whole book.
  static constexpr std::size_t kDefaultBookLevels = 1000;

  // `start_us` opens the first 24h statistics window; `book_levels` is the
  // grid of each order book, per side. The same seed, symbols and sequence of
  // calls produce the same events.
  MarketModel(const SymbolList& symbols, std::uint64_t seed, std::int64_t start_us,
              std::size_t book_levels = kDefaultBookLevels);

  // The state for a stream of one product, created on first use and kept
  // (ids continue if a stream is unsubscribed and subscribed again). Same
  // product and name, same id. Spot and USD-M futures are separate
  // exchanges: their streams count ids independently, while both follow the
  // same symbol prices. `spec` must come from parse_stream_spec against the
  // same symbol list.
  StreamId open_stream(const StreamSpec& spec, Flavour product = Flavour::spot);

  // Produces the stream's next event at `now_us`: the symbol takes one step
  // of its walk (all symbols for !miniTicker@arr) and the stream's id
  // advances by exactly one. A diff-depth event instead changes a few levels
  // of its book (one update id each) and reports every level changed since
  // the stream's previous event, by whichever stream: U is that event's
  // u + 1 (pu its u). The reference stays valid until the next call.
  const Event& advance(StreamId stream, std::int64_t now_us);

  // Same as advance, but the event is lost (the dropped-event fault): its id
  // is consumed, so subscribers see a gap in t / a / L / u.
  void skip(StreamId stream, std::int64_t now_us);

  // Events produced or skipped so far on this stream (1 after the first).
  std::uint64_t sequence(StreamId stream) const { return streams_[stream].sequence; }
  const StreamSpec& spec(StreamId stream) const { return streams_[stream].spec; }
  Flavour product(StreamId stream) const { return streams_[stream].product; }
  // Where the stream is served: spot, or the USD-M path carrying its kind.
  Endpoint endpoint(StreamId stream) const;
  std::size_t stream_count() const { return streams_.size(); }
  const SymbolState& symbol(std::size_t index) const { return symbols_[index]; }
  std::size_t symbol_count() const { return symbols_.size(); }

  // The order book of a symbol on a product, built on first use: every
  // diff-depth stream of the symbol and product changes this one, and the
  // REST snapshot reads it. Spot and USD-M have a book each.
  DepthBook& book(Flavour product, std::size_t symbol_index);

 private:
  struct Walk {
    double mid = 0;                  // ticks, as a real number
    double anchor = 0;               // start mid: the walk reverts towards it
    std::int64_t lot_scale = 1;      // 10^qty_decimals
    double lots_per_quote_tick = 1;  // lots of 1 quote unit at a price of 1 tick
    std::int64_t quote_divisor = 1;  // ticks×lots → cents
    std::uint64_t rng = 0;
  };
  struct StreamState {
    StreamSpec spec;
    Flavour product = Flavour::spot;
    std::uint64_t sequence = 0;
    std::uint64_t next_id = 0;        // the stream's own t / a / L / u
    std::uint64_t next_trade_id = 0;  // aggTrade f/l
    KlineBar bar;
    bool bar_open = false;
    std::uint64_t book_seen = 0;  // diff_depth: the book's update id at the previous event (its u)
  };

  void step(std::size_t index, std::int64_t now_us);
  void advance_kline(StreamState& stream, const SymbolState& symbol, std::int64_t now_us);
  void fill_depth(StreamState& stream, std::size_t index);
  void fill_mark(std::size_t index, std::int64_t now_us);

  std::uint64_t seed_;
  std::size_t book_levels_;
  std::vector<std::unique_ptr<DepthBook>> books_;  // [product][symbol], as built
  std::vector<SymbolState> symbols_;
  std::vector<Walk> walks_;
  std::vector<StreamState> streams_;
  std::unordered_map<std::string, StreamId> by_key_;  // "<product>:<name>"
  Event event_;
};

}  // namespace tickrelay::sim
