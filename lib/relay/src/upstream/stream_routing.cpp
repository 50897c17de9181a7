#include "upstream/stream_routing.hpp"

namespace tickrelay::upstream {

using config::Product;
using fanout::StreamKind;

std::optional<std::string_view> route_stream(Product product, StreamKind kind) {
  switch (product) {
    case Product::spot:
      switch (kind) {
        case StreamKind::trade:
        case StreamKind::agg_trade:
        case StreamKind::kline:
        case StreamKind::mini_ticker:
        case StreamKind::all_mini_ticker:
        case StreamKind::ticker:
        case StreamKind::rolling_ticker:
        case StreamKind::all_ticker:
        case StreamKind::book_ticker:
        case StreamKind::partial_depth:
        case StreamKind::diff_depth:
        case StreamKind::avg_price:
        case StreamKind::reference_price:
        case StreamKind::block_trade: return "";
        default: return std::nullopt;
      }
    case Product::usdm_futures:
      switch (kind) {
        // Trades are high-rate book data since the split: /public, where
        // ccxt (in production against Binance) asks for them.
        case StreamKind::trade:
        case StreamKind::book_ticker:
        case StreamKind::all_book_ticker:
        case StreamKind::partial_depth:
        case StreamKind::diff_depth: return "/public";
        case StreamKind::agg_trade:
        case StreamKind::kline:
        case StreamKind::continuous_kline:
        case StreamKind::index_price_kline:
        case StreamKind::mini_ticker:
        case StreamKind::all_mini_ticker:
        case StreamKind::ticker:
        case StreamKind::all_ticker:
        case StreamKind::mark_price:
        case StreamKind::all_mark_price:
        case StreamKind::force_order:
        case StreamKind::all_force_order:
        case StreamKind::contract_info:
        case StreamKind::asset_index: return "/market";
        default: return std::nullopt;
      }
    case Product::coinm_futures:
      switch (kind) {
        case StreamKind::agg_trade:
        case StreamKind::index_price:
        case StreamKind::mark_price:
        case StreamKind::all_mark_price:
        case StreamKind::kline:
        case StreamKind::continuous_kline:
        case StreamKind::index_price_kline:
        case StreamKind::mini_ticker:
        case StreamKind::all_mini_ticker:
        case StreamKind::ticker:
        case StreamKind::all_ticker:
        case StreamKind::book_ticker:
        case StreamKind::all_book_ticker:
        case StreamKind::force_order:
        case StreamKind::all_force_order:
        case StreamKind::partial_depth:
        case StreamKind::diff_depth:
        case StreamKind::contract_info: return "";
        default: return std::nullopt;
      }
  }
  return std::nullopt;
}

std::optional<Product> product_for_host(std::string_view host) {
  if (host == "stream.binance.com" || host == "data-stream.binance.vision" || host == "stream.testnet.binance.vision")
    return Product::spot;
  if (host == "fstream.binance.com" || host == "stream.binancefuture.com") return Product::usdm_futures;
  if (host == "dstream.binance.com" || host == "dstream.binancefuture.com") return Product::coinm_futures;
  return std::nullopt;
}

std::optional<Product> parse_product(std::string_view name) {
  if (name == "spot") return Product::spot;
  if (name == "usdm-futures") return Product::usdm_futures;
  if (name == "coinm-futures") return Product::coinm_futures;
  return std::nullopt;
}

double default_message_rate(Product product) { return product == Product::spot ? 5 : 10; }

double default_stall_timeout(Product product) { return product == Product::spot ? 60 : 240; }

const char* default_rest_url(Product product) {
  switch (product) {
    case Product::spot: return "https://api.binance.com";
    case Product::usdm_futures: return "https://fapi.binance.com";
    case Product::coinm_futures: return "https://dapi.binance.com";
  }
  return "https://api.binance.com";
}

}  // namespace tickrelay::upstream

namespace tickrelay::config {

const char* product_name(Product product) {
  switch (product) {
    case Product::spot: return "spot";
    case Product::usdm_futures: return "usdm-futures";
    case Product::coinm_futures: return "coinm-futures";
  }
  return "?";
}

}  // namespace tickrelay::config
