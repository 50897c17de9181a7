#include "upstream/upstream_connection.hpp"

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <variant>

#include "tickrelay/wire/duration.hpp"
#include "tickrelay/wire/tls_context.hpp"
#include "upstream/dns_resolver.hpp"

namespace tickrelay::upstream {
namespace {

namespace websocket = beast::websocket;
using PlainWs = websocket::stream<beast::tcp_stream>;
using TlsWs = websocket::stream<ssl::stream<beast::tcp_stream>>;

using wire::to_duration;

}  // namespace

struct UpstreamConnection::Transport {
  std::variant<PlainWs, TlsWs> ws;
  beast::flat_buffer buffer;

  Transport(net::io_context& ioc, ssl::context* tls)
      : ws(tls == nullptr ? std::variant<PlainWs, TlsWs>(std::in_place_type<PlainWs>, ioc)
                          : std::variant<PlainWs, TlsWs>(std::in_place_type<TlsWs>, ioc, *tls)) {}

  template <class F>
  decltype(auto) visit(F&& f) {
    return std::visit(std::forward<F>(f), ws);
  }
  beast::tcp_stream& tcp() {
    return visit([](auto& s) -> beast::tcp_stream& { return beast::get_lowest_layer(s); });
  }
};

UpstreamConnection::UpstreamConnection(net::io_context& ioc, DnsResolver& resolver, ssl::context* tls,
                                       ConnectionTarget target, ConnectionTimeouts timeouts, Observer& observer,
                                       spdlog::logger& log, std::uint64_t id, std::string label)
    : ioc_(ioc),
      resolver_(resolver),
      tls_(target.tls ? tls : nullptr),
      target_(std::move(target)),
      timeouts_(timeouts),
      observer_(observer),
      log_(log),
      id_(id),
      label_(std::move(label)),
      transport_(std::make_unique<Transport>(ioc, tls_)),
      stall_timer_(ioc),
      send_timer_(ioc) {}

UpstreamConnection::~UpstreamConnection() = default;

void UpstreamConnection::start() {
  state_ = State::connecting;
  log_.debug("upstream connecting upstream={} conn={} host={} port={} tls={}", label_, id_, target_.host,
             target_.port, target_.tls);
  resolver_.resolve(target_.host, target_.port,
                    [self = shared_from_this()](error_code ec, std::vector<tcp::endpoint> endpoints) {
                      self->on_resolve(ec, std::move(endpoints));
                    });
}

void UpstreamConnection::on_resolve(error_code ec, std::vector<tcp::endpoint> endpoints) {
  if (state_ == State::ended) return;
  if (ec) return end(EndReason::resolve_failed, ec);
  auto& tcp = transport_->tcp();
  tcp.expires_after(to_duration(timeouts_.connect_seconds));
  tcp.async_connect(endpoints, [self = shared_from_this()](error_code connect_ec, const tcp::endpoint&) {
    self->on_connect(connect_ec);
  });
}

void UpstreamConnection::on_connect(error_code ec) {
  if (state_ == State::ended) return;
  if (ec) return end(EndReason::connect_failed, ec);
  error_code ignored;
  transport_->tcp().socket().set_option(tcp::no_delay(true), ignored);
  if (auto* tls = std::get_if<TlsWs>(&transport_->ws)) {
    if (!wire::prepare_client_tls_stream(tls->next_layer().native_handle(), target_.host, target_.verify)) {
      return end(EndReason::tls_failed, error_code(net::error::invalid_argument));
    }
    tls->next_layer().async_handshake(ssl::stream_base::client,
                                      [self = shared_from_this()](error_code hs_ec) { self->on_tls_handshake(hs_ec); });
    return;
  }
  on_tls_handshake({});
}

void UpstreamConnection::on_tls_handshake(error_code ec) {
  if (state_ == State::ended) return;
  if (ec) return end(EndReason::tls_failed, ec);
  const std::string host = target_.host + ":" + std::to_string(target_.port);
  transport_->visit([&](auto& ws) {
    ws.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
      req.set(beast::http::field::user_agent, "tickrelay/" TICKRELAY_VERSION);
    }));
    ws.read_message_max(timeouts_.max_message_bytes);
    ws.control_callback([this](websocket::frame_type, beast::string_view) {
      // A ping (answered by the library) or pong proves the link is alive.
      last_activity_ = Clock::now();
    });
    ws.async_handshake(host, target_.request_target,
                       [self = shared_from_this()](error_code hs_ec) { self->on_handshake(hs_ec); });
  });
}

void UpstreamConnection::on_handshake(error_code ec) {
  if (state_ == State::ended) return;
  if (ec) return end(EndReason::handshake_failed, ec);
  // From here on our stall timer rules; the WebSocket layer times only
  // its closing handshake.
  transport_->tcp().expires_never();
  transport_->visit([&](auto& ws) {
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = to_duration(timeouts_.connect_seconds);
    timeouts.idle_timeout = websocket::stream_base::none();
    timeouts.keep_alive_pings = false;
    ws.set_option(timeouts);
  });
  state_ = State::open;
  opened_at_ = Clock::now();
  last_activity_ = opened_at_;
  log_.info("upstream connected upstream={} conn={} target={}", label_, id_,
            target_.request_target.size() > 120 ? target_.request_target.substr(0, 117) + "..." : target_.request_target);
  arm_stall_timer();
  observer_.on_open(*this);
  if (state_ != State::open) return;
  do_read();
  do_send();
}

void UpstreamConnection::do_read() {
  transport_->visit([&](auto& ws) {
    ws.async_read(transport_->buffer,
                  [self = shared_from_this()](error_code ec, std::size_t n) { self->on_read(ec, n); });
  });
}

void UpstreamConnection::on_read(error_code ec, std::size_t bytes) {
  if (state_ == State::ended) return;
  if (ec) {
    if (state_ == State::closing) return end(close_reason_, {});
    if (ec == websocket::error::closed) return end(EndReason::closed_by_server, ec);
    return end(EndReason::read_error, ec);
  }
  const auto received = Clock::now();
  last_activity_ = received;
  ++messages_;
  auto& buffer = transport_->buffer;
  // simdjson reads up to 64 bytes past the end: make them part of the buffer.
  buffer.prepare(simdjson::SIMDJSON_PADDING);
  const auto data = buffer.cdata();
  observer_.on_message(*this, static_cast<const char*>(data.data()), bytes, bytes + simdjson::SIMDJSON_PADDING,
                       received);
  buffer.consume(buffer.size());
  if (state_ == State::open || state_ == State::closing) do_read();
}

void UpstreamConnection::send_text(std::string message) {
  outbox_.push_back(std::move(message));
  if (state_ == State::open) do_send();
}

void UpstreamConnection::do_send() {
  if (sending_ || outbox_.empty() || state_ != State::open) return;
  // Binance counts our messages (and pongs) per second: keep below the pace.
  const auto interval = to_duration(1.0 / timeouts_.messages_per_second);
  const auto now = Clock::now();
  if (now < last_send_ + interval) {
    sending_ = true;
    send_timer_.expires_at(last_send_ + interval);
    send_timer_.async_wait([self = shared_from_this()](error_code ec) {
      self->sending_ = false;
      if (!ec) self->do_send();
    });
    return;
  }
  sending_ = true;
  last_send_ = now;
  transport_->visit([&](auto& ws) {
    ws.text(true);
    ws.async_write(net::buffer(outbox_.front()), [self = shared_from_this()](error_code ec, std::size_t) {
      self->sending_ = false;
      if (ec) return;  // the read side reports the failure
      self->outbox_.pop_front();
      self->do_send();
    });
  });
}

void UpstreamConnection::arm_stall_timer() {
  stall_timer_.expires_at(last_activity_ + to_duration(timeouts_.stall_seconds));
  stall_timer_.async_wait([self = shared_from_this()](error_code ec) {
    if (ec || self->state_ != State::open) return;
    if (Clock::now() - self->last_activity_ >= to_duration(self->timeouts_.stall_seconds)) {
      self->log_.warn("upstream stalled upstream={} conn={} silent_for={}s", self->label_, self->id_,
                      self->timeouts_.stall_seconds);
      return self->end(EndReason::stall, {});
    }
    self->arm_stall_timer();
  });
}

void UpstreamConnection::close(EndReason reason) {
  if (state_ == State::ended || state_ == State::closing) return;
  if (state_ != State::open) return end(reason, {});
  state_ = State::closing;
  close_reason_ = reason;
  stall_timer_.cancel();
  send_timer_.cancel();
  transport_->visit([&](auto& ws) {
    ws.async_close(websocket::close_code::normal, [self = shared_from_this()](error_code) {
      // The pending read completes too; end() runs once, from whichever is first.
      self->end(self->close_reason_, {});
    });
  });
}

void UpstreamConnection::end(EndReason reason, const error_code& ec) {
  if (state_ == State::ended) return;
  const bool was_open = state_ == State::open || state_ == State::closing;
  state_ = State::ended;
  stall_timer_.cancel();
  send_timer_.cancel();
  error_code ignored;
  transport_->tcp().socket().close(ignored);
  if (reason == EndReason::rotation || reason == EndReason::stopped) {
    log_.debug("upstream closed upstream={} conn={} reason={}", label_, id_, end_reason_label(reason));
  } else {
    log_.warn("upstream lost upstream={} conn={} reason={} error=\"{}\" was_open={}", label_, id_,
              end_reason_label(reason), ec ? ec.message() : std::string("-"), was_open);
  }
  observer_.on_end(*this, reason, ec);
}

}  // namespace tickrelay::upstream
