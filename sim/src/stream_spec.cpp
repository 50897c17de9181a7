#include "stream_spec.hpp"

#include <array>
#include <utility>

#include "symbol_list.hpp"

namespace tickrelay::sim {
namespace {

constexpr std::string_view kAllMiniTickers = "!miniTicker@arr";

constexpr std::array<std::pair<std::string_view, KlineInterval>, 16> kIntervals{{
    {"1s", KlineInterval::s1},
    {"1m", KlineInterval::m1},
    {"3m", KlineInterval::m3},
    {"5m", KlineInterval::m5},
    {"15m", KlineInterval::m15},
    {"30m", KlineInterval::m30},
    {"1h", KlineInterval::h1},
    {"2h", KlineInterval::h2},
    {"4h", KlineInterval::h4},
    {"6h", KlineInterval::h6},
    {"8h", KlineInterval::h8},
    {"12h", KlineInterval::h12},
    {"1d", KlineInterval::d1},
    {"3d", KlineInterval::d3},
    {"1w", KlineInterval::w1},
    {"1M", KlineInterval::mo1},
}};

// The update speeds a diff-depth name may carry (which product offers which:
// offered_by).
constexpr std::array<std::pair<std::string_view, std::uint16_t>, 3> kDiffSpeeds{{
    {"@100ms", 100},
    {"@250ms", 250},
    {"@500ms", 500},
}};

StreamSpecResult fail(StreamError error) { return StreamSpecResult{std::nullopt, error}; }

// Parses the part after "<symbol>@" into spec; returns the reason on failure.
StreamError parse_type(std::string_view type, StreamSpec& spec) {
  constexpr std::string_view kKline = "kline_";
  constexpr std::string_view kDepth = "depth";
  if (type == "trade") {
    spec.kind = StreamKind::trade;
  } else if (type == "aggTrade") {
    spec.kind = StreamKind::agg_trade;
  } else if (type == "bookTicker") {
    spec.kind = StreamKind::book_ticker;
  } else if (type == "miniTicker") {
    spec.kind = StreamKind::mini_ticker;
  } else if (type == "ticker") {
    spec.kind = StreamKind::ticker;
  } else if (type == "markPrice" || type == "markPrice@1s") {
    spec.kind = StreamKind::mark_price;
    spec.fast = type.size() > 9;
  } else if (type.starts_with(kKline)) {
    const auto interval = type.substr(kKline.size());
    for (const auto& [text, value] : kIntervals) {
      if (interval == text) {
        spec.kind = StreamKind::kline;
        spec.interval = value;
        return StreamError::none;
      }
    }
    // A timezone suffix (@+08:00) is a real Binance variant the simulator
    // does not serve; anything else is an interval Binance does not have.
    return interval.find('@') != std::string_view::npos ? StreamError::unknown_type : StreamError::unknown_interval;
  } else if (type == kDepth || type.starts_with("depth@")) {
    const auto speed = type.substr(kDepth.size());
    spec.kind = StreamKind::diff_depth;
    if (speed.empty()) return StreamError::none;
    for (const auto& [text, ms] : kDiffSpeeds) {
      if (speed == text) {
        spec.speed_ms = ms;
        spec.fast = ms == 100;
        return StreamError::none;
      }
    }
    return StreamError::unknown_type;
  } else if (type.starts_with(kDepth)) {
    auto rest = type.substr(kDepth.size());
    std::uint8_t levels = 0;
    if (rest.starts_with("5")) {
      levels = 5;
      rest.remove_prefix(1);
    } else if (rest.starts_with("10") || rest.starts_with("20")) {
      levels = rest[0] == '1' ? 10 : 20;
      rest.remove_prefix(2);
    } else {
      return StreamError::unknown_type;
    }
    if (rest == "@100ms") {
      spec.fast = true;
    } else if (!rest.empty()) {
      return StreamError::unknown_type;
    }
    spec.kind = StreamKind::partial_depth;
    spec.depth_levels = levels;
  } else {
    return StreamError::unknown_type;
  }
  return StreamError::none;
}

}  // namespace

std::string_view describe(StreamError error) {
  switch (error) {
    case StreamError::none: return "ok";
    case StreamError::malformed: return "invalid stream name";
    case StreamError::unknown_type: return "unknown stream type";
    case StreamError::unknown_interval: return "unknown kline interval";
    case StreamError::unknown_symbol: return "unknown symbol";
  }
  return "invalid stream name";
}

StreamSpecResult parse_stream_spec(std::string_view name, const SymbolList& symbols) {
  StreamSpec spec;
  if (name == kAllMiniTickers) {
    spec.kind = StreamKind::all_mini_tickers;
    spec.name = name;
    return StreamSpecResult{std::move(spec), StreamError::none};
  }
  const auto at = name.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == name.size()) return fail(StreamError::malformed);
  const auto symbol = name.substr(0, at);
  for (char c : symbol) {
    // Binance stream names carry symbols in lowercase only.
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return fail(StreamError::malformed);
  }
  if (const auto error = parse_type(name.substr(at + 1), spec); error != StreamError::none) return fail(error);
  const auto index = symbols.index_of(symbol);
  if (!index) return fail(StreamError::unknown_symbol);
  spec.name = name;
  spec.symbol = symbol;
  spec.symbol_index = *index;
  return StreamSpecResult{std::move(spec), StreamError::none};
}

bool served_on(StreamKind kind, Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::spot: return kind != StreamKind::mark_price;
    case Endpoint::usdm_public:
      return kind == StreamKind::book_ticker || kind == StreamKind::partial_depth || kind == StreamKind::diff_depth ||
             kind == StreamKind::trade;
    case Endpoint::usdm_market:
      return kind != StreamKind::book_ticker && kind != StreamKind::partial_depth && kind != StreamKind::diff_depth &&
             kind != StreamKind::trade;
  }
  return false;
}

bool offered_by(const StreamSpec& spec, Flavour product) {
  if (spec.kind != StreamKind::diff_depth || product != Flavour::spot) return true;
  return spec.speed_ms == 0 || spec.speed_ms == 100;
}

int diff_depth_speed_ms(const StreamSpec& spec, Flavour product) {
  if (spec.speed_ms != 0) return spec.speed_ms;
  return product == Flavour::spot ? 1000 : 250;
}

Endpoint usdm_endpoint_for(StreamKind kind) {
  return served_on(kind, Endpoint::usdm_public) ? Endpoint::usdm_public : Endpoint::usdm_market;
}

}  // namespace tickrelay::sim
