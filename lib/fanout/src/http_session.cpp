#include "http_session.hpp"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <chrono>

#include "client_session.hpp"
#include "tickrelay/fanout/request_target.hpp"
#include "tickrelay/fanout/session_hooks.hpp"
#include "tickrelay/wire/duration.hpp"

namespace tickrelay::fanout {
namespace {

namespace http = beast::http;
using fanout::RefusalReason;

template <class Stream>
class HttpSession : public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  template <class... Args>
  HttpSession(ClientRegistry& registry, Args&&... args)
      : stream_(std::forward<Args>(args)...),
        registry_(registry),
        deadline_(registry.io()),
        buffer_(registry.config().max_request_bytes) {
    limit_request_parser(parser_, registry.config());
  }

  void run() {
    deadline_.expires_after(wire::to_duration(registry_.config().handshake_timeout_seconds));
    deadline_.async_wait([weak = this->weak_from_this()](error_code ec) {
      if (auto self = weak.lock(); self && !ec) self->close();
    });
    if constexpr (std::is_same_v<Stream, tcp::socket>) {
      do_read();
    } else {
      stream_.async_handshake(ssl::stream_base::server, [self = this->shared_from_this()](error_code ec) {
        if (ec) return self->close();
        self->do_read();
      });
    }
  }

 private:
  tcp::socket& socket() {
    if constexpr (std::is_same_v<Stream, tcp::socket>)
      return stream_;
    else
      return stream_.next_layer();
  }

  void do_read() {
    http::async_read(stream_, buffer_, parser_,
                     [self = this->shared_from_this()](error_code ec, std::size_t n) { self->on_read(ec, n); });
  }

  void on_read(error_code ec, std::size_t n) {
    auto verdict = check_request(ec, n, parser_.get(), registry_.config(), registry_.rest());
    switch (verdict.action) {
      case RequestVerdict::Action::close: return close();
      case RequestVerdict::Action::answer: return answer(verdict.status, std::move(verdict.text));
      case RequestVerdict::Action::rest: return ask_rest();
      case RequestVerdict::Action::refuse: return refuse(verdict.status, verdict.text, verdict.why);
      case RequestVerdict::Action::upgrade: break;
    }
    auto& parsed = verdict.target;
    if (auto* hooks = registry_.hooks(); hooks != nullptr && !hooks->admit(*parsed))
      return refuse(http::status::service_unavailable, "connection refused for now", RefusalReason::max_clients);
    error_code peer_ec;
    const auto peer = socket().remote_endpoint(peer_ec);
    if (peer_ec) return close();
    RefusalReason refusal{};
    auto admission = registry_.admit(peer.address(), refusal);
    if (!admission) {
      if (refusal == RefusalReason::max_clients)
        return refuse(http::status::service_unavailable, "server full: max_clients reached", refusal);
      return refuse(http::status::too_many_requests, "too many connections from your address", refusal);
    }
    deadline_.cancel();
    start_client_session(std::move(stream_), parser_.release(), std::move(*parsed), registry_, std::move(*admission));
  }

  void ask_rest() {
    error_code peer_ec;
    const auto peer = socket().remote_endpoint(peer_ec);
    if (peer_ec) return close();
    const std::string_view target = parser_.get().target();
    registry_.rest()->get(target, peer.address(), [self = this->shared_from_this()](RestAnswer answer) {
      self->answer(answer.status, std::move(answer.body), "application/json", answer.headers);
    });
  }

  void refuse(http::status status, const std::string& reason, RefusalReason why) {
    ++registry_.counters().handshakes_refused[static_cast<std::size_t>(why)];
    registry_.log().debug("handshake refused status={} reason=\"{}\"", static_cast<int>(status), reason);
    answer(status, reason + "\n");
  }

  void answer(http::status status, std::string body, std::string_view content_type = "text/plain",
              const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    auto res = std::make_shared<http::response<http::string_body>>(status, 11);
    res->set(http::field::server, "tickrelay/" TICKRELAY_VERSION);
    res->set(http::field::content_type, content_type);
    for (const auto& [name, value] : headers) res->set(name, value);
    if (status == http::status::unauthorized) res->set(http::field::www_authenticate, "Bearer");
    if (status == http::status::service_unavailable) res->set(http::field::retry_after, "5");
    res->keep_alive(false);
    res->body() = std::move(body);
    res->prepare_payload();
    http::async_write(stream_, *res,
                      [self = this->shared_from_this(), res](error_code, std::size_t) { self->close(); });
  }

  void close() {
    deadline_.cancel();
    error_code ignored;
    socket().shutdown(tcp::socket::shutdown_both, ignored);
    socket().close(ignored);
  }

  Stream stream_;
  ClientRegistry& registry_;
  net::steady_timer deadline_;
  beast::flat_buffer buffer_;
  http::request_parser<http::empty_body> parser_;
};

}  // namespace

void limit_request_parser(beast::http::request_parser<beast::http::empty_body>& parser, const ServerConfig& config) {
  // Beast applies header_limit to the request line and to the header fields
  // each on their own, consuming the line before the fields are in, so both
  // together may reach twice the limit: this and the read buffer's bound
  // keep what is buffered small, and check_request refuses a whole request
  // past the limit.
  parser.header_limit(static_cast<std::uint32_t>(config.max_request_bytes));
  parser.body_limit(0);
}

RequestVerdict check_request(error_code read_error, std::size_t request_bytes,
                             const beast::http::request<beast::http::empty_body>& request, const ServerConfig& config,
                             const RestHandler* rest) {
  using Action = RequestVerdict::Action;
  auto refuse = [](http::status status, std::string text, RefusalReason why) {
    return RequestVerdict{Action::refuse, status, std::move(text), why, std::nullopt};
  };
  if (read_error == http::error::header_limit || read_error == http::error::buffer_overflow ||
      (!read_error && request_bytes > config.max_request_bytes))
    return refuse(http::status::request_header_fields_too_large, "request too large", RefusalReason::bad_request);
  if (read_error == http::error::body_limit || read_error == http::error::unexpected_body)
    return refuse(http::status::bad_request, "no body expected", RefusalReason::bad_request);
  if (read_error) return RequestVerdict{Action::close, {}, {}, {}, std::nullopt};
  const std::string_view target = request.target();
  if (target.size() > config.max_path_bytes)
    return refuse(http::status::uri_too_long, "request path too long", RefusalReason::bad_request);
  if (!beast::websocket::is_upgrade(request)) {
    if (request.method() == http::verb::get && target == "/livez")
      return RequestVerdict{Action::answer, http::status::ok, "ok\n", {}, std::nullopt};
    if (rest != nullptr && request.method() == http::verb::get && rest->serves(target.substr(0, target.find('?')))) {
      // The access token protects the REST paths too (as a Bearer header).
      const std::string_view authorization = request[http::field::authorization];
      if (!config.auth_token.empty() &&
          !(authorization.starts_with("Bearer ") && token_matches(authorization.substr(7), config.auth_token)))
        return refuse(http::status::unauthorized, "missing or wrong access token", RefusalReason::unauthorized);
      return RequestVerdict{Action::rest, http::status::ok, {}, {}, std::nullopt};
    }
    return refuse(http::status::upgrade_required,
                  "this is a WebSocket endpoint: /ws/<stream> or /stream?streams=<stream>/<stream>",
                  RefusalReason::bad_request);
  }
  std::string error;
  auto parsed = parse_request_target(target, error);
  if (!config.auth_token.empty()) {
    std::string_view presented = parsed ? std::string_view(parsed->token) : std::string_view{};
    const std::string_view authorization = request[http::field::authorization];
    if (authorization.starts_with("Bearer ")) presented = authorization.substr(7);
    if (!token_matches(presented, config.auth_token))
      return refuse(http::status::unauthorized, "missing or wrong access token", RefusalReason::unauthorized);
  }
  if (!parsed) return refuse(http::status::not_found, std::move(error), RefusalReason::bad_request);
  // Only now, authorized, are the names split, and only up to the cap.
  if (!split_streams(*parsed, config.max_streams_per_client, error))
    return refuse(http::status::bad_request, std::move(error), RefusalReason::bad_request);
  return RequestVerdict{Action::upgrade, http::status::switching_protocols, {}, {}, std::move(parsed)};
}

void start_http_session(tcp::socket socket, ClientRegistry& registry) {
  std::make_shared<HttpSession<tcp::socket>>(registry, std::move(socket))->run();
}

void start_https_session(tcp::socket socket, ssl::context& tls, ClientRegistry& registry) {
  std::make_shared<HttpSession<ssl::stream<tcp::socket>>>(registry, std::move(socket), tls)->run();
}

bool token_matches(std::string_view presented, std::string_view expected) {
  // Length is not secret; the bytes are compared in constant time.
  if (presented.size() != expected.size() || expected.empty()) return false;
  return CRYPTO_memcmp(presented.data(), expected.data(), expected.size()) == 0;
}

}  // namespace tickrelay::fanout
