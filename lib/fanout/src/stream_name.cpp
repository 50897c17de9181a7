#include "tickrelay/fanout/stream_name.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace tickrelay::fanout {
namespace {

constexpr std::array<std::string_view, kStreamKindCount> kLabels = {
    "trade",      "aggTrade",      "kline",          "continuousKline", "indexPriceKline", "miniTicker",
    "ticker",     "rollingTicker", "bookTicker",     "partialDepth",    "depth",           "markPrice",
    "indexPrice", "avgPrice",      "referencePrice", "blockTrade",      "forceOrder",      "allMiniTicker",
    "allTicker",  "allBookTicker", "allMarkPrice",   "allForceOrder",   "contractInfo",    "assetIndex"};

bool is_symbol_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool is_interval(std::string_view s) {
  static constexpr std::array<std::string_view, 16> kIntervals = {"1s", "1m", "3m", "5m",  "15m", "30m", "1h", "2h",
                                                                  "4h", "6h", "8h", "12h", "1d",  "3d",  "1w", "1M"};
  return std::find(kIntervals.begin(), kIntervals.end(), s) != kIntervals.end();
}

// Update speeds Binance accepts after depth streams.
bool is_speed(std::string_view s) { return s == "100ms" || s == "250ms" || s == "500ms" || s == "1000ms"; }

std::optional<StreamKind> kline_kind(std::string_view rest, std::string_view prefix, StreamKind kind) {
  if (!rest.starts_with(prefix)) return std::nullopt;
  rest.remove_prefix(prefix.size());
  // Spot's timezone variant: kline_1h@+08:00.
  if (const auto at = rest.find('@'); at != std::string_view::npos) {
    if (rest.substr(at) != "@+08:00") return std::nullopt;
    rest = rest.substr(0, at);
  }
  return is_interval(rest) ? std::optional(kind) : std::nullopt;
}

std::optional<StreamKind> symbol_stream_kind(std::string_view rest) {
  if (rest == "trade") return StreamKind::trade;
  if (rest == "aggTrade") return StreamKind::agg_trade;
  if (rest == "miniTicker") return StreamKind::mini_ticker;
  if (rest == "ticker") return StreamKind::ticker;
  if (rest == "ticker_1h" || rest == "ticker_4h" || rest == "ticker_1d") return StreamKind::rolling_ticker;
  if (rest == "bookTicker") return StreamKind::book_ticker;
  if (rest == "avgPrice") return StreamKind::avg_price;
  if (rest == "referencePrice") return StreamKind::reference_price;
  if (rest == "blockTrade") return StreamKind::block_trade;
  if (rest == "forceOrder") return StreamKind::force_order;
  if (rest == "indexPrice" || rest == "indexPrice@1s") return StreamKind::index_price;
  if (rest == "assetIndex" || rest == "assetIndex@1s") return StreamKind::asset_index;
  if (rest == "markPrice" || rest == "markPrice@1s") return StreamKind::mark_price;
  if (auto k = kline_kind(rest, "kline_", StreamKind::kline)) return k;
  if (auto k = kline_kind(rest, "indexPriceKline_", StreamKind::index_price_kline)) return k;
  if (auto k = kline_kind(rest, "markPriceKline_", StreamKind::index_price_kline)) return k;
  if (rest.starts_with("depth")) {
    std::string_view tail = rest.substr(5);
    std::string_view levels = tail.substr(0, tail.find('@'));
    std::string_view speed = levels.size() < tail.size() ? tail.substr(levels.size() + 1) : std::string_view{};
    if (levels.size() < tail.size() && !is_speed(speed)) return std::nullopt;  // "depth@" has no speed
    if (levels.empty()) return StreamKind::diff_depth;
    if (levels == "5" || levels == "10" || levels == "20") return StreamKind::partial_depth;
  }
  return std::nullopt;
}

std::optional<StreamKind> market_stream_kind(std::string_view name) {
  if (name == "!miniTicker@arr") return StreamKind::all_mini_ticker;
  if (name == "!ticker@arr" || name == "!ticker_1h@arr" || name == "!ticker_4h@arr" || name == "!ticker_1d@arr")
    return StreamKind::all_ticker;
  if (name == "!bookTicker") return StreamKind::all_book_ticker;
  if (name == "!markPrice@arr" || name == "!markPrice@arr@1s") return StreamKind::all_mark_price;
  if (name == "!forceOrder@arr") return StreamKind::all_force_order;
  if (name == "!contractInfo") return StreamKind::contract_info;
  if (name == "!assetIndex@arr") return StreamKind::asset_index;
  return std::nullopt;
}

}  // namespace

std::optional<StreamName> parse_stream_name(std::string_view name) {
  if (name.starts_with('!')) {
    if (auto kind = market_stream_kind(name)) return StreamName{{}, *kind};
    return std::nullopt;
  }
  const auto at = name.find('@');
  if (at == 0 || at == std::string_view::npos) return std::nullopt;
  std::string_view symbol = name.substr(0, at);
  const std::string_view rest = name.substr(at + 1);
  // Continuous contract klines name a pair and a contract type: btcusdt_perpetual.
  if (rest.starts_with("continuousKline_")) {
    const auto underscore = symbol.find('_');
    if (underscore == std::string_view::npos || underscore == 0) return std::nullopt;
    const auto contract = symbol.substr(underscore + 1);
    if (contract != "perpetual" && contract != "current_quarter" && contract != "next_quarter") return std::nullopt;
    if (!std::all_of(symbol.begin(), symbol.begin() + static_cast<std::ptrdiff_t>(underscore), is_symbol_char))
      return std::nullopt;
    if (auto k = kline_kind(rest, "continuousKline_", StreamKind::continuous_kline)) return StreamName{symbol, *k};
    return std::nullopt;
  }
  // COIN-M symbols carry a delivery suffix: btcusd_perp, btcusd_240628.
  if (!std::all_of(symbol.begin(), symbol.end(), [](char c) { return is_symbol_char(c) || c == '_'; }) ||
      symbol.front() == '_' || symbol.back() == '_')
    return std::nullopt;
  if (auto kind = symbol_stream_kind(rest)) return StreamName{symbol, *kind};
  return std::nullopt;
}

std::string_view kind_label(StreamKind kind) { return kLabels[static_cast<std::size_t>(kind)]; }

std::string_view replay_family(StreamKind kind) {
  switch (kind) {
    case StreamKind::kline:
    case StreamKind::continuous_kline:
    case StreamKind::index_price_kline: return "kline";
    case StreamKind::mini_ticker:
    case StreamKind::all_mini_ticker: return "miniTicker";
    case StreamKind::ticker:
    case StreamKind::rolling_ticker:
    case StreamKind::all_ticker: return "ticker";
    case StreamKind::book_ticker:
    case StreamKind::all_book_ticker: return "bookTicker";
    case StreamKind::partial_depth: return "depth";
    case StreamKind::mark_price:
    case StreamKind::all_mark_price:
    case StreamKind::index_price: return "markPrice";
    case StreamKind::avg_price:
    case StreamKind::reference_price: return "avgPrice";
    default: return kind_label(kind);
  }
}

bool is_state_stream(StreamKind kind) {
  switch (kind) {
    case StreamKind::trade:
    case StreamKind::agg_trade:
    case StreamKind::block_trade:
    case StreamKind::force_order:
    case StreamKind::all_force_order:
    // A diff-depth event is a delta: replaying one alone would corrupt a book.
    case StreamKind::diff_depth: return false;
    default: return true;
  }
}

SequenceField sequence_field(StreamKind kind) {
  switch (kind) {
    case StreamKind::trade: return SequenceField::trade_id;
    case StreamKind::agg_trade: return SequenceField::agg_trade_id;
    default: return SequenceField::none;
  }
}

std::string normalize_symbol(std::string_view raw) {
  if (const auto colon = raw.find(':'); colon != std::string_view::npos) raw.remove_prefix(colon + 1);
  std::string out(raw);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace tickrelay::fanout
