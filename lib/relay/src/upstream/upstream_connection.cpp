#include "upstream/upstream_connection.hpp"

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <chrono>
#include <deque>
#include <type_traits>

#include "tickrelay/fanout/router.hpp"
#include "tickrelay/wire/duration.hpp"
#include "tickrelay/wire/tls_context.hpp"
#include "upstream/batch_read_stream.hpp"
#include "upstream/dns_resolver.hpp"

namespace tickrelay::upstream {
namespace {

namespace websocket = beast::websocket;
using wire::to_duration;

// Stream: beast::tcp_stream, or ssl::stream<beast::tcp_stream> for wss.
template <class Stream>
class UpstreamConnection final : public Connection, public std::enable_shared_from_this<UpstreamConnection<Stream>> {
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

 public:
  // `stream_args` build the stream: the io_context, and the TLS context.
  // Each socket read is one publish batch on `router`.
  template <class... StreamArgs>
  UpstreamConnection(net::io_context& ioc, DnsResolver& resolver, fanout::Router& router, ConnectionTarget target,
                     ConnectionTimeouts timeouts, Observer& observer, spdlog::logger& log, std::uint64_t id,
                     std::string label, StreamArgs&&... stream_args)
      : resolver_(resolver),
        target_(std::move(target)),
        timeouts_(timeouts),
        observer_(observer),
        log_(log),
        id_(id),
        label_(std::move(label)),
        ws_(router, std::forward<StreamArgs>(stream_args)...),
        stall_timer_(ioc),
        send_timer_(ioc) {}

  void start() override;
  void send_text(std::string message) override;
  // Closes with a WebSocket close frame; the observer hears `reason`.
  void close(EndReason reason) override;

  bool is_open() const override { return state_ == State::open; }
  bool ended() const override { return state_ == State::ended; }
  std::uint64_t id() const override { return id_; }
  std::uint64_t messages() const override { return messages_; }

 private:
  enum class State { idle, connecting, open, closing, ended };

  beast::tcp_stream& tcp() { return beast::get_lowest_layer(ws_); }
  void on_resolve(error_code ec, std::vector<tcp::endpoint> endpoints);
  void on_connect(error_code ec);
  void on_tls_handshake(error_code ec);
  void on_handshake(error_code ec);
  void do_read();
  void on_read(error_code ec, std::size_t bytes);
  void do_send();
  void arm_stall_timer();
  void end(EndReason reason, const error_code& ec);

  DnsResolver& resolver_;
  ConnectionTarget target_;
  ConnectionTimeouts timeouts_;
  Observer& observer_;
  spdlog::logger& log_;
  std::uint64_t id_;
  std::string label_;
  websocket::stream<BatchReadStream<Stream>> ws_;
  beast::flat_buffer buffer_;
  net::steady_timer stall_timer_;
  net::steady_timer send_timer_;
  std::deque<std::string> outbox_;
  bool sending_ = false;
  Clock::time_point last_send_{};
  Clock::time_point last_activity_{};
  std::uint64_t messages_ = 0;
  State state_ = State::idle;
  EndReason close_reason_ = EndReason::stopped;
};

template <class Stream>
void UpstreamConnection<Stream>::start() {
  state_ = State::connecting;
  log_.debug("upstream connecting upstream={} conn={} host={} port={} tls={}", label_, id_, target_.host, target_.port,
             target_.tls);
  resolver_.resolve(target_.host, target_.port,
                    [self = this->shared_from_this()](error_code ec, std::vector<tcp::endpoint> endpoints) {
                      self->on_resolve(ec, std::move(endpoints));
                    });
}

template <class Stream>
void UpstreamConnection<Stream>::on_resolve(error_code ec, std::vector<tcp::endpoint> endpoints) {
  if (state_ == State::ended) return;
  if (ec) return end(EndReason::resolve_failed, ec);
  auto& stream = tcp();
  stream.expires_after(to_duration(timeouts_.connect_seconds));
  stream.async_connect(endpoints, [self = this->shared_from_this()](error_code connect_ec, const tcp::endpoint&) {
    self->on_connect(connect_ec);
  });
}

template <class Stream>
void UpstreamConnection<Stream>::on_connect(error_code ec) {
  if (state_ == State::ended) return;
  if (ec) return end(EndReason::connect_failed, ec);
  error_code ignored;
  tcp().socket().set_option(tcp::no_delay(true), ignored);
  if constexpr (kTls) {
    auto& tls = ws_.next_layer().next_layer();
    if (!wire::prepare_client_tls_stream(tls.native_handle(), target_.host, target_.verify)) {
      return end(EndReason::tls_failed, error_code(net::error::invalid_argument));
    }
    tls.async_handshake(ssl::stream_base::client,
                        [self = this->shared_from_this()](error_code hs_ec) { self->on_tls_handshake(hs_ec); });
  } else {
    on_tls_handshake({});
  }
}

template <class Stream>
void UpstreamConnection<Stream>::on_tls_handshake(error_code ec) {
  if (state_ == State::ended) return;
  if (ec) return end(EndReason::tls_failed, ec);
  const std::string host = target_.host + ":" + std::to_string(target_.port);
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::request_type& req) { req.set(beast::http::field::user_agent, "tickrelay/" TICKRELAY_VERSION); }));
  ws_.read_message_max(timeouts_.max_message_bytes);
  ws_.control_callback([this](websocket::frame_type, beast::string_view) {
    // A ping (answered by the library) or pong proves the link is alive.
    last_activity_ = Clock::now();
  });
  ws_.async_handshake(host, target_.request_target,
                      [self = this->shared_from_this()](error_code hs_ec) { self->on_handshake(hs_ec); });
}

template <class Stream>
void UpstreamConnection<Stream>::on_handshake(error_code ec) {
  if (state_ == State::ended) return;
  if (ec) return end(EndReason::handshake_failed, ec);
  // From here on our stall timer rules; the WebSocket layer times only
  // its closing handshake.
  tcp().expires_never();
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = to_duration(timeouts_.connect_seconds);
  timeouts.idle_timeout = websocket::stream_base::none();
  timeouts.keep_alive_pings = false;
  ws_.set_option(timeouts);
  state_ = State::open;
  last_activity_ = Clock::now();
  log_.info("upstream connected upstream={} conn={} target={}", label_, id_,
            target_.request_target.size() > 120 ? target_.request_target.substr(0, 117) + "..."
                                                : target_.request_target);
  arm_stall_timer();
  observer_.on_open(*this);
  if (state_ != State::open) return;
  do_read();
  do_send();
}

template <class Stream>
void UpstreamConnection<Stream>::do_read() {
  ws_.async_read(buffer_, [self = this->shared_from_this()](error_code ec, std::size_t n) { self->on_read(ec, n); });
}

template <class Stream>
void UpstreamConnection<Stream>::on_read(error_code ec, std::size_t bytes) {
  if (state_ == State::ended) return;
  if (ec) {
    if (state_ == State::closing) return end(close_reason_, {});
    if (ec == websocket::error::closed) return end(EndReason::closed_by_server, ec);
    return end(EndReason::read_error, ec);
  }
  const auto received = Clock::now();
  last_activity_ = received;
  ++messages_;
  if (!ws_.got_text()) {
    buffer_.consume(buffer_.size());
    observer_.on_binary(*this, bytes);
    if (state_ == State::open || state_ == State::closing) do_read();
    return;
  }
  // simdjson reads up to 64 bytes past the end: make them part of the buffer.
  buffer_.prepare(simdjson::SIMDJSON_PADDING);
  const auto data = buffer_.cdata();
  observer_.on_message(*this, static_cast<const char*>(data.data()), bytes, bytes + simdjson::SIMDJSON_PADDING,
                       received);
  buffer_.consume(buffer_.size());
  if (state_ == State::open || state_ == State::closing) do_read();
}

template <class Stream>
void UpstreamConnection<Stream>::send_text(std::string message) {
  outbox_.push_back(std::move(message));
  if (state_ == State::open) do_send();
}

template <class Stream>
void UpstreamConnection<Stream>::do_send() {
  if (sending_ || outbox_.empty() || state_ != State::open) return;
  // Binance counts our messages (and pongs) per second: keep below the pace.
  const auto interval = to_duration(1.0 / timeouts_.messages_per_second);
  const auto now = Clock::now();
  if (now < last_send_ + interval) {
    sending_ = true;
    send_timer_.expires_at(last_send_ + interval);
    send_timer_.async_wait([self = this->shared_from_this()](error_code ec) {
      self->sending_ = false;
      if (!ec) self->do_send();
    });
    return;
  }
  sending_ = true;
  last_send_ = now;
  ws_.text(true);
  ws_.async_write(net::buffer(outbox_.front()), [self = this->shared_from_this()](error_code ec, std::size_t) {
    self->sending_ = false;
    if (ec) return;  // the read side reports the failure
    self->outbox_.pop_front();
    self->do_send();
  });
}

template <class Stream>
void UpstreamConnection<Stream>::arm_stall_timer() {
  stall_timer_.expires_at(last_activity_ + to_duration(timeouts_.stall_seconds));
  stall_timer_.async_wait([self = this->shared_from_this()](error_code ec) {
    if (ec || self->state_ != State::open) return;
    if (Clock::now() - self->last_activity_ >= to_duration(self->timeouts_.stall_seconds)) {
      self->log_.warn("upstream stalled upstream={} conn={} silent_for={}s", self->label_, self->id_,
                      self->timeouts_.stall_seconds);
      return self->end(EndReason::stall, {});
    }
    self->arm_stall_timer();
  });
}

template <class Stream>
void UpstreamConnection<Stream>::close(EndReason reason) {
  if (state_ == State::ended || state_ == State::closing) return;
  if (state_ != State::open) return end(reason, {});
  state_ = State::closing;
  close_reason_ = reason;
  stall_timer_.cancel();
  send_timer_.cancel();
  ws_.async_close(websocket::close_code::normal, [self = this->shared_from_this()](error_code) {
    // The pending read completes too; end() runs once, from whichever is first.
    self->end(self->close_reason_, {});
  });
}

template <class Stream>
void UpstreamConnection<Stream>::end(EndReason reason, const error_code& ec) {
  if (state_ == State::ended) return;
  const bool was_open = state_ == State::open || state_ == State::closing;
  state_ = State::ended;
  stall_timer_.cancel();
  send_timer_.cancel();
  ws_.next_layer().end_batch();
  error_code ignored;
  tcp().socket().close(ignored);
  if (reason == EndReason::rotation || reason == EndReason::stopped) {
    log_.debug("upstream closed upstream={} conn={} reason={}", label_, id_, end_reason_label(reason));
  } else {
    log_.warn("upstream lost upstream={} conn={} reason={} error=\"{}\" was_open={}", label_, id_,
              end_reason_label(reason), ec ? ec.message() : std::string("-"), was_open);
  }
  observer_.on_end(*this, reason, ec);
}

}  // namespace

std::shared_ptr<Connection> make_plain_upstream_connection(net::io_context& ioc, DnsResolver& resolver,
                                                           fanout::Router& router, ConnectionTarget target,
                                                           ConnectionTimeouts timeouts, Connection::Observer& observer,
                                                           spdlog::logger& log, std::uint64_t id, std::string label) {
  return std::make_shared<UpstreamConnection<beast::tcp_stream>>(ioc, resolver, router, std::move(target), timeouts,
                                                                 observer, log, id, std::move(label), ioc);
}

std::shared_ptr<Connection> make_tls_upstream_connection(net::io_context& ioc, DnsResolver& resolver,
                                                         fanout::Router& router, ssl::context& tls,
                                                         ConnectionTarget target, ConnectionTimeouts timeouts,
                                                         Connection::Observer& observer, spdlog::logger& log,
                                                         std::uint64_t id, std::string label) {
  return std::make_shared<UpstreamConnection<ssl::stream<beast::tcp_stream>>>(ioc, resolver, router, std::move(target),
                                                                              timeouts, observer, log, id,
                                                                              std::move(label), ioc, tls);
}

}  // namespace tickrelay::upstream
