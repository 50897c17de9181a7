#pragma once
// The backbone's subject scheme (deploy/README.md):
//   <prefix>.<product>.<stream, '@' as '.'>   every event of a stream, as
//                                              Binance sent it (combined form)
//   <prefix>-last.<product>.<stream ...>      ask the ingest relays for the
//                                              stream's latest event
//   <prefix>-ingest.<name>                    the reply-to of every event: which
//                                              ingest relay published it
// e.g. tickrelay.usdm.btcusdt.kline_1h. Pure: tested without a server.
#include <string>
#include <string_view>

#include "tickrelay/relay/config.hpp"

namespace tickrelay::backbone {

std::string_view product_token(config::Product product);
// Empty when `stream` holds a character a subject token may not (space,
// '.', '*', '>') or is empty.
std::string event_subject(std::string_view prefix, config::Product product, std::string_view stream);
std::string last_value_subject(std::string_view prefix, config::Product product, std::string_view stream);
// `name` with every character a token may not hold replaced by '_'.
std::string source_subject(std::string_view prefix, std::string_view name);

}  // namespace tickrelay::backbone
