#pragma once
// Reads one HTTP request on a client connection and either upgrades it to a
// ClientSession or answers it (health, refusal) and closes. Every limit is
// applied before anything is buffered without bound: request size, path
// length, token, client counts.
#include <memory>

#include "tickrelay/fanout/client_registry.hpp"
#include "tickrelay/wire/asio.hpp"

namespace tickrelay::fanout {

void start_http_session(tcp::socket socket, ClientRegistry& registry);
void start_https_session(tcp::socket socket, ssl::context& tls, ClientRegistry& registry);

// Constant-time comparison of a presented token with the configured one.
bool token_matches(std::string_view presented, std::string_view expected);

}  // namespace tickrelay::fanout
