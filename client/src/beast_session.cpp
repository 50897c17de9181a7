#include "beast_session.hpp"

#include <boost/asio/connect.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "load_worker.hpp"
#include "tickrelay/wire/tls_context.hpp"

namespace tickrelay::client {
namespace websocket = beast::websocket;

namespace {

// Covers TCP connect, TLS and the upgrade: long enough for a server busy
// accepting thousands of connections, short enough that a dead target shows
// up as errors within a run.
constexpr auto kConnectTimeout = std::chrono::seconds(10);
// Above Beast's 16 MiB default would only help a broken server; below it,
// !ticker@arr snapshots (hundreds of KB) must still fit.
constexpr std::size_t kMaxMessageBytes = 16 * 1024 * 1024;

template <class NextLayer>
constexpr bool kIsTls = !std::is_same_v<NextLayer, PlainStream>;

}  // namespace

template <class NextLayer>
BeastSession<NextLayer>::BeastSession(LoadWorker& worker, std::size_t target, std::size_t index, NextLayer stream)
    : worker_(worker), target_(target), index_(index), ws_(std::move(stream)) {
  worker_.attach(target_, index_, this);
}

template <class NextLayer>
BeastSession<NextLayer>::~BeastSession() {
  worker_.detach(target_, index_, this);
}

template <class NextLayer>
void BeastSession<NextLayer>::start() {
  const auto& setup = worker_.setup();
  const TargetSpec& spec = setup.options.targets[target_];
  if (!spec.subscribe.empty()) subscribe_ = make_subscribe_request(spec.subscribe);
  auto& tcp_layer = beast::get_lowest_layer(ws_);
  tcp_layer.expires_after(kConnectTimeout);
  tcp_layer.async_connect(setup.endpoints[target_],
                          [self = this->shared_from_this()](error_code ec, const tcp::endpoint&) {
                            self->on_connect(ec);
                          });
}

template <class NextLayer>
void BeastSession<NextLayer>::close() {
  beast::get_lowest_layer(ws_).close();
}

template <class NextLayer>
void BeastSession<NextLayer>::on_connect(error_code ec) {
  if (ec) return fail(ec, "connect");
  if constexpr (kIsTls<NextLayer>) {
    const auto& setup = worker_.setup();
    const TargetSpec& spec = setup.options.targets[target_];
    if (!wire::prepare_client_tls_stream(ws_.next_layer().native_handle(), spec.host, !setup.options.insecure)) {
      return fail(net::error::invalid_argument, "TLS setup");
    }
    ws_.next_layer().async_handshake(ssl::stream_base::client, [self = this->shared_from_this()](error_code ec2) {
      self->on_tls_handshake(ec2);
    });
  } else {
    do_ws_handshake();
  }
}

template <class NextLayer>
void BeastSession<NextLayer>::on_tls_handshake(error_code ec) {
  if (ec) return fail(ec, "TLS handshake");
  do_ws_handshake();
}

template <class NextLayer>
void BeastSession<NextLayer>::do_ws_handshake() {
  const TargetSpec& spec = worker_.setup().options.targets[target_];
  ws_.read_message_max(kMaxMessageBytes);
  ws_.set_option(websocket::stream_base::decorator([](websocket::request_type& request) {
    request.set(beast::http::field::user_agent, "tickrelay-load/" TICKRELAY_VERSION);
  }));
  ws_.async_handshake(spec.host_header, spec.request_target,
                      [self = this->shared_from_this()](error_code ec) { self->on_ws_handshake(ec); });
}

template <class NextLayer>
void BeastSession<NextLayer>::on_ws_handshake(error_code ec) {
  if (ec) return fail(ec, "WebSocket handshake");
  // From here the WebSocket's own timeouts rule: the server's silence is
  // the server's business (a quiet stream is not a fault), and Beast answers
  // its pings.
  beast::get_lowest_layer(ws_).expires_never();
  websocket::stream_base::timeout timeouts = websocket::stream_base::timeout::suggested(beast::role_type::client);
  ws_.set_option(timeouts);
  up_ = true;
  worker_.on_up(target_, index_);
  if (!subscribe_.empty()) {
    ws_.text(true);
    ws_.async_write(net::buffer(subscribe_), [self = this->shared_from_this()](error_code ec2, std::size_t bytes) {
      self->on_subscribed(ec2, bytes);
    });
    return;
  }
  do_read();
}

template <class NextLayer>
void BeastSession<NextLayer>::on_subscribed(error_code ec, std::size_t /*bytes*/) {
  if (ec) return fail(ec, "SUBSCRIBE");
  subscribe_.clear();
  subscribe_.shrink_to_fit();
  do_read();
}

template <class NextLayer>
void BeastSession<NextLayer>::do_read() {
  ws_.async_read(buffer_,
                 [self = this->shared_from_this()](error_code ec, std::size_t bytes) { self->on_read(ec, bytes); });
}

template <class NextLayer>
void BeastSession<NextLayer>::on_read(error_code ec, std::size_t /*bytes*/) {
  if (ec) return fail(ec, "read");
  const auto data = buffer_.cdata();
  const bool more = worker_.on_message_copy(target_, worker_.slot(target_, index_),
                                            std::string_view(static_cast<const char*>(data.data()), data.size()),
                                            LoadWorker::now_ns());
  buffer_.consume(buffer_.size());
  if (!more) return fail(net::error::operation_aborted, "end of run");
  do_read();
}

template <class NextLayer>
void BeastSession<NextLayer>::fail(error_code ec, const char* what) {
  if (done_) return;
  done_ = true;
  close();
  std::string why = std::string(what) + ": " + ec.message();
  if (ec == websocket::error::closed) {
    const auto& reason = ws_.reason();
    why = "closed by server (code " + std::to_string(reason.code) +
          (reason.reason.empty() ? "" : ", " + std::string(reason.reason.c_str())) + ")";
  }
  worker_.on_down(target_, index_, up_, why);
}

template class BeastSession<PlainStream>;
template class BeastSession<TlsStream>;

}  // namespace tickrelay::client
