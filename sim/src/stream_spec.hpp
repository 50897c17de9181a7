#pragma once
// A stream name the simulator can serve, parsed once at subscribe time.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sim_types.hpp"

namespace tickrelay::sim {

class SymbolList;

// Why a name was refused; the server answers any of them with Binance's
// error shape, and may use describe() for the message text.
enum class StreamError : std::uint8_t {
  none,
  malformed,         // no '@', empty part, or trailing garbage
  unknown_type,      // e.g. btcusdt@foo, btcusdt@depth@1000ms, @kline_1h@+08:00
  unknown_interval,  // btcusdt@kline_2m
  unknown_symbol,    // well-formed, but not in the simulator's symbol list
};
std::string_view describe(StreamError error);

struct StreamSpec {
  StreamKind kind = StreamKind::trade;
  std::string name;                            // exactly as Binance spells it, e.g. "btcusdt@depth5@100ms"
  std::string symbol;                          // lowercase; empty for !miniTicker@arr
  std::size_t symbol_index = 0;                // into the SymbolList it was parsed against
  KlineInterval interval = KlineInterval::m1;  // kline only
  std::uint8_t depth_levels = 0;               // 5, 10 or 20; partial_depth only
  bool fast = false;                           // depth @100ms, markPrice @1s (update speed only)
  std::uint16_t speed_ms = 0;                  // diff_depth: 100, 250 or 500 as named; 0 = the product's default

  bool operator==(const StreamSpec&) const = default;
};

struct StreamSpecResult {
  std::optional<StreamSpec> spec;
  StreamError error = StreamError::none;
  explicit operator bool() const { return spec.has_value(); }
};

// Names are case-sensitive as on Binance: symbols lowercase, `aggTrade`,
// `bookTicker`, `1m` (minute) versus `1M` (month).
StreamSpecResult parse_stream_spec(std::string_view name, const SymbolList& symbols);

// Whether a product path carries this kind. Spot has no markPrice; USD-M
// futures serves bookTicker and depth on /public and the rest on /market.
// Binance delivers nothing (and reports no error) for a stream asked for on
// the wrong path; the server decides whether to mimic that.
bool served_on(StreamKind kind, Endpoint endpoint);

// Whether a product has this stream at all: spot's diff depth comes at
// 1000 ms (plain @depth) or @100ms only, USD-M's also @250ms and @500ms.
bool offered_by(const StreamSpec& spec, Flavour product);

// A diff-depth stream's update speed as Binance states it: the named one,
// else 1000 ms on spot and 250 ms on USD-M futures. The simulator paces every
// stream with --rate; the speed is part of the name, not of the timing.
int diff_depth_speed_ms(const StreamSpec& spec, Flavour product);

// The USD-M futures path that carries a kind: usdm_public for bookTicker and
// depth, usdm_market for the rest.
Endpoint usdm_endpoint_for(StreamKind kind);

}  // namespace tickrelay::sim
