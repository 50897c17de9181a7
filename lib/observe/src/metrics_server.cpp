#include "tickrelay/observe/metrics_server.hpp"

#include <stdexcept>

#include "metrics_http_session.hpp"

namespace tickrelay::observe {
namespace {

// After an accept error such as EMFILE the listening socket stays readable;
// retrying at once would spin the loop, so the next accept waits a little.
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);

std::string describe(const tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  return (address.is_v6() ? "[" + address.to_string() + "]" : address.to_string()) + ":" +
         std::to_string(endpoint.port());
}

}  // namespace

void MetricsServer::add_json(std::string path, Document document) {
  state_->documents[std::move(path)] = std::move(document);
}

MetricsServer::MetricsServer(net::io_context& ioc, tcp::endpoint endpoint, Collect collect, HealthCheck health,
                             MetricsServerLimits limits)
    : endpoint_(std::move(endpoint)),
      acceptor_(ioc),
      retry_timer_(ioc),
      state_(std::make_shared<MetricsServerState>()) {
  state_->collect = std::move(collect);
  state_->health = std::move(health);
  state_->limits = limits;
}

MetricsServer::~MetricsServer() { stop(); }

void MetricsServer::start() {
  state_->stopped = false;
  error_code ec;
  const auto fail = [&](const char* what) {
    error_code ignored;
    acceptor_.close(ignored);
    throw std::runtime_error("metrics server cannot " + std::string(what) + " " + describe(endpoint_) + ": " +
                             ec.message());
  };
  acceptor_.open(endpoint_.protocol(), ec);
  if (ec) fail("open");
  // A restarted daemon must rebind at once although the old socket lingers
  // in TIME_WAIT.
  acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (ec) fail("configure");
  acceptor_.bind(endpoint_, ec);
  if (ec) fail("bind");
  acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) fail("listen on");
  do_accept();
}

void MetricsServer::stop() {
  state_->stopped = true;
  error_code ignored;
  retry_timer_.cancel();
  acceptor_.close(ignored);
  // close() only cancels I/O; the sessions leave the set from their
  // destructors, once their aborted handlers have run.
  for (MetricsHttpSession* session : state_->sessions) {
    session->close();
  }
}

tcp::endpoint MetricsServer::local_endpoint() const {
  error_code ec;
  const auto endpoint = acceptor_.local_endpoint(ec);
  return ec ? endpoint_ : endpoint;
}

void MetricsServer::do_accept() {
  // The handler may be queued with success just before stop() and run after
  // the server is gone; the shared state tells it not to touch `this`.
  acceptor_.async_accept([this, state = state_](error_code ec, tcp::socket socket) {
    if (!state->stopped) on_accept(ec, std::move(socket));
  });
}

void MetricsServer::on_accept(error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted) {
    return;
  }
  if (ec) {
    retry_timer_.expires_after(kAcceptRetryDelay);
    retry_timer_.async_wait([this, state = state_](error_code wait_ec) {
      if (!wait_ec && !state->stopped) do_accept();
    });
    return;
  }
  if (state_->sessions.size() < state_->limits.max_sessions) {
    std::make_shared<MetricsHttpSession>(std::move(socket), state_)->start();
  }
  // Over the limit the socket closes as it goes out of scope.
  do_accept();
}

}  // namespace tickrelay::observe
