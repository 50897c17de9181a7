#pragma once
// One WebSocket connection to Binance (or the simulator): resolve, connect,
// TLS with SNI and verification, WebSocket handshake on a combined-stream
// target, then a read loop. Pings are answered by the library with their
// payload; silence longer than the stall timeout ends the connection.
// Whatever ends it, the observer hears once, with the reason.
//
// Like the client session, the connection is a template over its stream
// (plain TCP or TLS over TCP), chosen once here by the caller; each is its
// own instantiation, kept in the .cpp behind the Connection interface.
#include <cstdint>
#include <memory>
#include <string>

#include "tickrelay/wire/asio.hpp"
#include "upstream/connection.hpp"

namespace spdlog {
class logger;
}

namespace tickrelay::fanout {
class Router;
}

namespace tickrelay::upstream {

class DnsResolver;

// Each socket read of the connection is one publish batch on `router`.
std::shared_ptr<Connection> make_plain_upstream_connection(net::io_context& ioc, DnsResolver& resolver,
                                                           fanout::Router& router, ConnectionTarget target,
                                                           ConnectionTimeouts timeouts, Connection::Observer& observer,
                                                           spdlog::logger& log, std::uint64_t id, std::string label);

// `tls` must outlive the connection.
std::shared_ptr<Connection> make_tls_upstream_connection(net::io_context& ioc, DnsResolver& resolver,
                                                         fanout::Router& router, ssl::context& tls,
                                                         ConnectionTarget target, ConnectionTimeouts timeouts,
                                                         Connection::Observer& observer, spdlog::logger& log,
                                                         std::uint64_t id, std::string label);

}  // namespace tickrelay::upstream
