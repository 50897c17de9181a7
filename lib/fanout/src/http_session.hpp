#pragma once
// Reads one HTTP request on a client connection and either upgrades it to a
// ClientSession or answers it (health, refusal) and closes. Every limit is
// applied before anything is buffered without bound: request size, path
// length, token, stream count, client counts.
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/status.hpp>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "tickrelay/fanout/client_registry.hpp"
#include "tickrelay/fanout/relay_counters.hpp"
#include "tickrelay/fanout/request_target.hpp"
#include "tickrelay/fanout/rest_handler.hpp"
#include "tickrelay/fanout/server_config.hpp"
#include "tickrelay/wire/asio.hpp"

namespace tickrelay::fanout {

void start_http_session(tcp::socket socket, ClientRegistry& registry);
void start_https_session(tcp::socket socket, ssl::context& tls, ClientRegistry& registry);

// The parser's share of max_request_bytes; the read buffer is bounded by it
// too.
void limit_request_parser(beast::http::request_parser<beast::http::empty_body>& parser, const ServerConfig& config);

// What a read request gets before anything that depends on the connection
// (the hooks, the peer's address, the client counts): pure, so the whole
// path from the bytes read to here is tested and fuzzed without sockets.
struct RequestVerdict {
  enum class Action : std::uint8_t {
    upgrade,  // go on to admission with `target`
    answer,   // not a handshake: answer `status` with `text` (/livez)
    rest,     // a GET of a path the REST handler serves
    refuse,   // answer `status` with `text`, counted under `why`
    close,    // the read failed: nothing to answer
  };
  Action action;
  beast::http::status status;
  std::string text;
  RefusalReason why;
  std::optional<RequestTarget> target;
};

// `read_error` and `request_bytes` are what the read of the request
// reported: its error, and the bytes the parser took (request line and
// headers; there is no body). `rest`, when set, takes the GETs of the paths
// it serves.
RequestVerdict check_request(error_code read_error, std::size_t request_bytes,
                             const beast::http::request<beast::http::empty_body>& request, const ServerConfig& config,
                             const RestHandler* rest = nullptr);

// Constant-time comparison of a presented token with the configured one.
bool token_matches(std::string_view presented, std::string_view expected);

}  // namespace tickrelay::fanout
