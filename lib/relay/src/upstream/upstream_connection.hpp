#pragma once
// One WebSocket connection to Binance (or the simulator): resolve, connect,
// TLS with SNI and verification, WebSocket handshake on a combined-stream
// target, then a read loop. Pings are answered by the library with their
// payload; silence longer than the stall timeout ends the connection.
// Whatever ends it, the observer hears once, with the reason.
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "upstream/connection.hpp"
#include "tickrelay/wire/asio.hpp"

namespace spdlog {
class logger;
}

namespace tickrelay::upstream {

class DnsResolver;

class UpstreamConnection final : public Connection, public std::enable_shared_from_this<UpstreamConnection> {
 public:
  UpstreamConnection(net::io_context& ioc, DnsResolver& resolver, ssl::context* tls, ConnectionTarget target,
                     ConnectionTimeouts timeouts, Observer& observer, spdlog::logger& log, std::uint64_t id,
                     std::string label);
  ~UpstreamConnection() override;

  void start() override;
  void send_text(std::string message) override;
  // Closes with a WebSocket close frame; the observer hears `reason`.
  void close(EndReason reason) override;

  bool is_open() const override { return state_ == State::open; }
  bool ended() const override { return state_ == State::ended; }
  std::uint64_t id() const override { return id_; }
  std::uint64_t messages() const override { return messages_; }
  const std::string& label() const { return label_; }
  Clock::time_point opened_at() const { return opened_at_; }

 private:
  enum class State { idle, connecting, open, closing, ended };
  struct Transport;

  void on_resolve(error_code ec, std::vector<tcp::endpoint> endpoints);
  void on_connect(error_code ec);
  void on_tls_handshake(error_code ec);
  void on_handshake(error_code ec);
  void do_read();
  void on_read(error_code ec, std::size_t bytes);
  void do_send();
  void arm_stall_timer();
  void end(EndReason reason, const error_code& ec);

  net::io_context& ioc_;
  DnsResolver& resolver_;
  ssl::context* tls_;
  ConnectionTarget target_;
  ConnectionTimeouts timeouts_;
  Observer& observer_;
  spdlog::logger& log_;
  std::uint64_t id_;
  std::string label_;
  std::unique_ptr<Transport> transport_;
  net::steady_timer stall_timer_;
  net::steady_timer send_timer_;
  std::deque<std::string> outbox_;
  bool sending_ = false;
  Clock::time_point last_send_{};
  Clock::time_point last_activity_{};
  Clock::time_point opened_at_{};
  std::uint64_t messages_ = 0;
  State state_ = State::idle;
  EndReason close_reason_ = EndReason::stopped;
};

}  // namespace tickrelay::upstream
