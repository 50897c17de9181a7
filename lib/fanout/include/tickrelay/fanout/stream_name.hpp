#pragma once
// Binance stream names: what kind of data a name carries, which decides its
// upstream path, whether its last value is a state worth replaying, and which
// id must grow by one per event.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tickrelay::fanout {

enum class StreamKind : std::uint8_t {
  trade,
  agg_trade,
  kline,              // kline_<interval>, also @+08:00
  continuous_kline,   // <pair>_<contract>@continuousKline_<interval>
  index_price_kline,  // futures indexPriceKline_/markPriceKline_
  mini_ticker,
  ticker,
  rolling_ticker,  // ticker_1h/4h/1d
  book_ticker,
  partial_depth,  // depth5/10/20[@100ms]
  diff_depth,     // depth[@100ms]
  mark_price,     // markPrice[@1s]
  index_price,    // COIN-M indexPrice
  avg_price,
  reference_price,
  block_trade,
  force_order,
  all_mini_ticker,  // !miniTicker@arr
  all_ticker,       // !ticker@arr, !ticker_<w>@arr
  all_book_ticker,  // !bookTicker
  all_mark_price,   // !markPrice@arr[@1s]
  all_force_order,  // !forceOrder@arr
  contract_info,    // !contractInfo
  asset_index,      // !assetIndex@arr, <symbol>@assetIndex
  count_
};

inline constexpr std::size_t kStreamKindCount = static_cast<std::size_t>(StreamKind::count_);

struct StreamName {
  std::string_view symbol;  // empty for all-market (!...) streams
  StreamKind kind;
};

// Parses a stream name as a client or the config writes it. The symbol must
// be lowercase ASCII letters and digits (Binance's names are lowercase);
// nullopt for anything else.
std::optional<StreamName> parse_stream_name(std::string_view name);

// The label used in metrics and in the `replay` config map, e.g. "kline",
// "aggTrade", "bookTicker".
std::string_view kind_label(StreamKind kind);

// Family used for last-value replay settings: depth covers both depth kinds,
// ticker the rolling tickers, and so on.
std::string_view replay_family(StreamKind kind);

// Whether the latest event describes a state (a candle, a ticker, a book top),
// so a new subscriber gains from receiving it at once. Trades are not states.
bool is_state_stream(StreamKind kind);

// The field whose value grows by exactly one per event, if the kind has one:
// trade `t`, aggTrade `a`. (Kline `L` counts trades, not events.)
enum class SequenceField : std::uint8_t { none, trade_id, agg_trade_id };
SequenceField sequence_field(StreamKind kind);

// Lowercases a symbol and strips an exchange prefix such as "BINANCE:".
std::string normalize_symbol(std::string_view raw);

}  // namespace tickrelay::fanout
