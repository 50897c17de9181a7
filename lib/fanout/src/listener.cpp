#include "tickrelay/fanout/listener.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>

#include "http_session.hpp"

namespace tickrelay::fanout {

Listener::Listener(net::io_context& ioc, ClientRegistry& registry, ssl::context* tls)
    : registry_(registry), tls_(tls), acceptor_(ioc), retry_(ioc) {}

void Listener::listen(const tcp::endpoint& endpoint) {
  error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    error_code ignored;
    acceptor_.close(ignored);
    throw std::runtime_error("cannot listen on " + endpoint.address().to_string() + ":" +
                             std::to_string(endpoint.port()) + ": " + ec.message());
  }
}

void Listener::adopt(int native_fd) {
  error_code ec;
  acceptor_.assign(tcp::v6(), native_fd, ec);
  if (!ec) {
    // The socket may be IPv4; ask it.
    const auto endpoint = acceptor_.local_endpoint(ec);
    if (!ec && endpoint.protocol() != tcp::v6()) {
      acceptor_.release(ec);
      acceptor_.assign(tcp::v4(), native_fd, ec);
    }
  }
  if (ec) throw std::runtime_error("cannot use the passed listening socket: " + ec.message());
}

void Listener::start() {
  stopped_ = false;
  do_accept();
}

void Listener::stop() {
  stopped_ = true;
  retry_.cancel();
  error_code ignored;
  acceptor_.close(ignored);
}

tcp::endpoint Listener::local_endpoint() const {
  error_code ec;
  return acceptor_.local_endpoint(ec);
}

void Listener::do_accept() {
  acceptor_.async_accept(
      [self = shared_from_this()](error_code ec, tcp::socket socket) { self->on_accept(ec, std::move(socket)); });
}

void Listener::on_accept(error_code ec, tcp::socket socket) {
  if (stopped_ || ec == net::error::operation_aborted) return;
  if (ec) {
    // Out of descriptors or memory: back off briefly instead of spinning,
    // and say so once per 10 s, not at every retry.
    ++accept_failures_;
    const auto now = std::chrono::steady_clock::now();
    if (now - failure_logged_at_ >= std::chrono::seconds(10)) {
      registry_.log().warn("accept failed error=\"{}\" failures={}; retrying every 100 ms", ec.message(),
                           accept_failures_);
      accept_failures_ = 0;
      failure_logged_at_ = now;
    }
    retry_.expires_after(std::chrono::milliseconds(100));
    retry_.async_wait([self = shared_from_this()](error_code wait_ec) {
      if (!wait_ec && !self->stopped_) self->do_accept();
    });
    return;
  }
  error_code ignored;
  // Frames leave as soon as they are written; the relay batches by itself.
  socket.set_option(tcp::no_delay(true), ignored);
  if (tls_ != nullptr) {
    start_https_session(std::move(socket), *tls_, registry_);
  } else {
    start_http_session(std::move(socket), registry_);
  }
  do_accept();
}

}  // namespace tickrelay::fanout
