#pragma once
// Which Binance endpoint path carries which stream. Since 2026 USD-M futures
// serve market streams under /market and book streams (and trades) under
// /public; a stream asked on the wrong path delivers nothing and reports no
// error, so routing is checked when the config is loaded.
#include <optional>
#include <string_view>

#include "tickrelay/fanout/stream_name.hpp"
#include "tickrelay/relay/config.hpp"

namespace tickrelay::upstream {

// The path below the base URL ("", "/market", "/public") that carries `kind`
// for `product`; nullopt when the product has no such stream.
std::optional<std::string_view> route_stream(config::Product product, fanout::StreamKind kind);

// The product a Binance host serves, for configs that name none.
std::optional<config::Product> product_for_host(std::string_view host);

std::optional<config::Product> parse_product(std::string_view name);

// Incoming messages a connection may send per second (SUBSCRIBE, pong...).
double default_message_rate(config::Product product);

// How long a silent connection is trusted: three of the product's ping
// intervals (spot pings every 20 s, futures every 3 min) capped sensibly.
double default_stall_timeout(config::Product product);

// Binance's REST API for the product (depth snapshots).
const char* default_rest_url(config::Product product);

}  // namespace tickrelay::upstream
