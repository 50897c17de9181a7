#pragma once
// What a shard needs from one upstream WebSocket connection. The real one is
// UpstreamConnection; tests drive a fake through the same interface, so
// shards and the pool are tested without sockets.
#include <chrono>
#include <cstdint>
#include <string>

#include "tickrelay/wire/asio.hpp"
#include "upstream/end_reason.hpp"

namespace tickrelay::upstream {

struct ConnectionTarget {
  std::string host;
  unsigned short port = 0;
  bool tls = false;
  bool verify = true;
  std::string request_target;  // /market/stream?streams=...
};

struct ConnectionTimeouts {
  double connect_seconds = 10;  // resolve + TCP + TLS + WebSocket handshake
  double stall_seconds = 60;    // no data and no ping for this long
  std::size_t max_message_bytes = 4 << 20;
  double messages_per_second = 4;  // pace of our SUBSCRIBE / UNSUBSCRIBE
};

class Connection {
 public:
  using Clock = std::chrono::steady_clock;

  // Hears a connection's events, each from the loop, never from start().
  class Observer {
   public:
    virtual void on_open(Connection& connection) = 0;
    // One text message. [data, data + capacity) is readable (padding for
    // the parser); valid only during the call.
    virtual void on_message(Connection& connection, const char* data, std::size_t size, std::size_t capacity,
                            Clock::time_point received) = 0;
    // One binary message of `size` bytes: Binance sends none, so it is
    // malformed, counted and skipped (never relayed as if it were text).
    virtual void on_binary(Connection& connection, std::size_t size) = 0;
    // Once per connection, whatever ended it; nothing follows.
    virtual void on_end(Connection& connection, EndReason reason, const error_code& ec) = 0;

   protected:
    ~Observer() = default;
  };

  virtual ~Connection() = default;

  virtual void start() = 0;
  // Queues a text message (SUBSCRIBE...), sent at the paced rate once open.
  virtual void send_text(std::string message) = 0;
  // Ends the connection; the observer hears `reason` (at once when it was
  // not open yet, after the closing handshake otherwise).
  virtual void close(EndReason reason) = 0;

  virtual bool is_open() const = 0;
  virtual bool ended() const = 0;
  // Unique among all upstream connections of the process (de-duplication
  // tells connections apart by it).
  virtual std::uint64_t id() const = 0;
  virtual std::uint64_t messages() const = 0;
};

}  // namespace tickrelay::upstream
