#pragma once
// Small vocabulary shared by the simulator's pieces, kept apart so that each
// piece's header stays small and none has to include another's.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace tickrelay::sim {

// Pacing and fault timing use the monotonic clock; event stamps (E, T, kline
// times) are Unix microseconds passed as std::int64_t, never this clock.
using Clock = std::chrono::steady_clock;
using Micros = std::chrono::microseconds;

// Handle of one stream's state inside a MarketModel (stable for the model's
// lifetime); the pacer deals these out.
using StreamId = std::uint32_t;

enum class StreamKind : std::uint8_t {
  trade,             // <symbol>@trade
  agg_trade,         // <symbol>@aggTrade
  kline,             // <symbol>@kline_<interval>
  book_ticker,       // <symbol>@bookTicker
  mini_ticker,       // <symbol>@miniTicker
  ticker,            // <symbol>@ticker
  partial_depth,     // <symbol>@depth<5|10|20>[@100ms]
  diff_depth,        // <symbol>@depth[@100ms|@250ms|@500ms]: changes of the symbol's book
  mark_price,        // <symbol>@markPrice[@1s] (USD-M futures only)
  all_mini_tickers,  // !miniTicker@arr
};

// Binance's kline intervals, in the order its documentation lists them.
enum class KlineInterval : std::uint8_t {
  s1,
  m1,
  m3,
  m5,
  m15,
  m30,
  h1,
  h2,
  h4,
  h6,
  h8,
  h12,
  d1,
  d3,
  w1,
  mo1,
};

// Where a connection arrived. Spot serves every kind at the root paths
// (/ws, /stream); USD-M futures splits by path since 2026: /public carries
// bookTicker and depth, /market everything else.
enum class Endpoint : std::uint8_t { spot, usdm_market, usdm_public };

// Payload shapes differ between the two products for the same stream name.
enum class Flavour : std::uint8_t { spot, usdm_futures };

// Spot honours timeUnit=MICROSECOND in the URL; futures always use ms.
enum class TimeUnit : std::uint8_t { millisecond, microsecond };

// The malformed frames --malformed-every cycles through, in this order.
enum class MalformedKind : std::uint8_t {
  truncated_json,       // a real frame cut in half
  not_json,             // text that is not JSON at all
  unsubscribed_stream,  // well-formed event for a stream nobody asked for
  missing_stream,       // combined envelope without its "stream" member
  wrong_types,          // numbers as strings, strings as numbers
  // Only when named in --malformed-kinds: shapes a hostile upstream sends.
  duplicate_data,  // an envelope giving "data" twice
  binary_frame,    // the event in a binary frame (Binance sends text only)
  deep_nesting,    // valid JSON nested 2000 deep
  max_id,          // a reply to no request, with id 9223372036854775807
  empty_frame,     // a text frame with no payload
};
// The kinds --malformed-every cycles through when --malformed-kinds is not given.
inline constexpr int kMalformedKinds = 5;

constexpr Flavour flavour_of(Endpoint endpoint) {
  return endpoint == Endpoint::spot ? Flavour::spot : Flavour::usdm_futures;
}

std::string_view to_string(StreamKind kind);
std::string_view to_string(KlineInterval interval);  // "1s" .. "1M"
std::string_view to_string(MalformedKind kind);
// The kind named `name` (as to_string spells it), or nullopt.
std::optional<MalformedKind> malformed_kind_named(std::string_view name);

}  // namespace tickrelay::sim
