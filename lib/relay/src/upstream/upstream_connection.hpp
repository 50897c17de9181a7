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

#include "tickrelay/wire/asio.hpp"

namespace spdlog {
class logger;
}

namespace tickrelay::upstream {

class DnsResolver;

// Why a connection ended; a fixed set, used as a metrics label.
enum class EndReason : std::uint8_t {
  resolve_failed,
  connect_failed,
  tls_failed,
  handshake_failed,
  closed_by_server,
  read_error,
  stall,
  rotation,
  server_shutdown,
  stopped,
  count_
};
inline constexpr std::size_t kEndReasonCount = static_cast<std::size_t>(EndReason::count_);
std::string_view end_reason_label(EndReason reason);

struct ConnectionTarget {
  std::string host;
  unsigned short port = 0;
  bool tls = false;
  bool verify = true;
  std::string request_target;  // /market/stream?streams=...
};

struct ConnectionTimeouts {
  double connect_seconds = 10;        // resolve + TCP + TLS + WebSocket handshake
  double stall_seconds = 60;          // no data and no ping for this long
  std::size_t max_message_bytes = 4 << 20;
  double messages_per_second = 4;     // pace of our SUBSCRIBE / UNSUBSCRIBE
};

class UpstreamConnection : public std::enable_shared_from_this<UpstreamConnection> {
 public:
  using Clock = std::chrono::steady_clock;

  class Observer {
   public:
    virtual void on_open(UpstreamConnection& connection) = 0;
    // One text message. [data, data + capacity) is readable (padding for
    // the parser); valid only during the call.
    virtual void on_message(UpstreamConnection& connection, const char* data, std::size_t size,
                            std::size_t capacity, Clock::time_point received) = 0;
    virtual void on_end(UpstreamConnection& connection, EndReason reason, const error_code& ec) = 0;

   protected:
    ~Observer() = default;
  };

  UpstreamConnection(net::io_context& ioc, DnsResolver& resolver, ssl::context* tls, ConnectionTarget target,
                     ConnectionTimeouts timeouts, Observer& observer, spdlog::logger& log, std::uint64_t id,
                     std::string label);
  ~UpstreamConnection();

  void start();
  // Queues a text message (SUBSCRIBE...), sent at the paced rate once open.
  void send_text(std::string message);
  // Closes with a WebSocket close frame; the observer hears `reason`.
  void close(EndReason reason);

  bool is_open() const { return state_ == State::open; }
  bool ended() const { return state_ == State::ended; }
  std::uint64_t id() const { return id_; }
  const std::string& label() const { return label_; }
  Clock::time_point opened_at() const { return opened_at_; }
  std::uint64_t messages() const { return messages_; }

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
