#include "sim_types.hpp"

namespace tickrelay::sim {

std::string_view to_string(StreamKind kind) {
  switch (kind) {
    case StreamKind::trade: return "trade";
    case StreamKind::agg_trade: return "aggTrade";
    case StreamKind::kline: return "kline";
    case StreamKind::book_ticker: return "bookTicker";
    case StreamKind::mini_ticker: return "miniTicker";
    case StreamKind::ticker: return "ticker";
    case StreamKind::partial_depth: return "depth";
    case StreamKind::diff_depth: return "diffDepth";
    case StreamKind::mark_price: return "markPrice";
    case StreamKind::all_mini_tickers: return "!miniTicker@arr";
  }
  return "?";
}

std::string_view to_string(KlineInterval interval) {
  switch (interval) {
    case KlineInterval::s1: return "1s";
    case KlineInterval::m1: return "1m";
    case KlineInterval::m3: return "3m";
    case KlineInterval::m5: return "5m";
    case KlineInterval::m15: return "15m";
    case KlineInterval::m30: return "30m";
    case KlineInterval::h1: return "1h";
    case KlineInterval::h2: return "2h";
    case KlineInterval::h4: return "4h";
    case KlineInterval::h6: return "6h";
    case KlineInterval::h8: return "8h";
    case KlineInterval::h12: return "12h";
    case KlineInterval::d1: return "1d";
    case KlineInterval::d3: return "3d";
    case KlineInterval::w1: return "1w";
    case KlineInterval::mo1: return "1M";
  }
  return "?";
}

std::string_view to_string(MalformedKind kind) {
  switch (kind) {
    case MalformedKind::truncated_json: return "truncated_json";
    case MalformedKind::not_json: return "not_json";
    case MalformedKind::unsubscribed_stream: return "unsubscribed_stream";
    case MalformedKind::missing_stream: return "missing_stream";
    case MalformedKind::wrong_types: return "wrong_types";
    case MalformedKind::duplicate_data: return "duplicate_data";
    case MalformedKind::binary_frame: return "binary_frame";
    case MalformedKind::deep_nesting: return "deep_nesting";
    case MalformedKind::max_id: return "max_id";
    case MalformedKind::empty_frame: return "empty_frame";
  }
  return "?";
}

std::optional<MalformedKind> malformed_kind_named(std::string_view name) {
  for (int k = 0; k <= static_cast<int>(MalformedKind::empty_frame); ++k) {
    const auto kind = static_cast<MalformedKind>(k);
    if (to_string(kind) == name) return kind;
  }
  return std::nullopt;
}

}  // namespace tickrelay::sim
