#pragma once
// One WebSocket client: its subscriptions, its bounded send queue and the one
// writer that owns its socket. Starts from a request HttpSession has read and
// admitted; owns itself through its pending handlers.
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>

#include "tickrelay/fanout/client_registry.hpp"
#include "tickrelay/fanout/request_target.hpp"
#include "tickrelay/wire/asio.hpp"

namespace tickrelay::fanout {

using UpgradeRequest = boost::beast::http::request<boost::beast::http::empty_body>;

// Takes over the socket, completes the WebSocket handshake and runs the
// client until it leaves.
void start_client_session(tcp::socket socket, UpgradeRequest request, RequestTarget target, ClientRegistry& registry,
                          ClientRegistry::Admission admission);
void start_client_session(ssl::stream<tcp::socket> stream, UpgradeRequest request, RequestTarget target,
                          ClientRegistry& registry, ClientRegistry::Admission admission);

}  // namespace tickrelay::fanout
