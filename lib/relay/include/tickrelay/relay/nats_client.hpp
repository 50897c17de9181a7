#pragma once
// One connection to the NATS backbone, driven by the relay's io_context
// through nats.c's event-loop adapter API: reading the socket, parsing and
// writing all happen on the relay's thread. Subscriptions are nats.c's
// synchronous ones, drained on the loop right after every read, so no
// message is handed over between threads. nats.c keeps threads of its own
// for its timers (pings), reconnecting, connection callbacks and freeing
// messages the loop is done with (natsMsg_Destroy defers to its collector);
// what they report is posted to the loop. bench/nats_delivery.sh measures
// this against nats.c's delivery threads posting each message.
//
// Server list, discovery of cluster members, reconnect with the
// subscriptions restored and output buffered while reconnecting: nats.c's.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tickrelay/relay/config.hpp"
#include "tickrelay/wire/asio.hpp"

namespace spdlog {
class logger;
}

namespace tickrelay::backbone {

class NatsClient {
 public:
  // One message: valid only during the call. `data` has `size` bytes and a
  // NUL after them.
  using MessageHandler =
      std::function<void(std::string_view subject, std::string_view reply, const char* data, std::size_t size)>;
  using SubscriptionId = std::uint64_t;  // 0: none

  // urls, name, timeouts and the output bound come from `config`.
  NatsClient(net::io_context& ioc, config::NatsConfig config, spdlog::logger& log);
  ~NatsClient();
  NatsClient(const NatsClient&) = delete;
  NatsClient& operator=(const NatsClient&) = delete;

  // Connects: one attempt at once (it blocks for at most the connect
  // timeout per URL), then in the background until one succeeds. A
  // connection nats.c gives up (authorization refused, TLS failing) is replaced by a new
  // one after a backoff. Throws std::runtime_error for options nats.c
  // refuses (a malformed URL, an unreadable certificate).
  void start();
  // Closes the connection; nothing is delivered afterwards.
  void stop();

  bool connected() const { return connected_; }
  std::uint64_t reconnects() const { return reconnects_; }
  std::string connected_url() const;
  // Called on the loop when the connection goes up or down.
  void set_state_listener(std::function<void(bool connected)> listener) { on_state_ = std::move(listener); }

  // Queues one message; false (nothing queued) when the connection is
  // closed or its output buffer is full.
  bool publish(const std::string& subject, const std::string& reply, std::string_view data);
  bool publish(const std::string& subject, std::string_view data) { return publish(subject, {}, data); }

  // Messages on `subject` (wildcards allowed) go to `handler` on the loop;
  // subscriptions survive reconnects and new connections. 0 before start().
  SubscriptionId subscribe(const std::string& subject, MessageHandler handler);
  void unsubscribe(SubscriptionId id);
  std::size_t subscription_count() const;
  // A subject no one else uses, for replies to this connection.
  std::string new_inbox() const;

  struct Adapter;    // nats.c's event-loop callbacks (nats_client.cpp)
  void on_closed();  // on the loop: nats.c gave the connection up

 private:
  struct Subscription;
  void connect();
  void close_connection();
  void open(Subscription& s);
  void on_readable();
  void drain();
  void set_connected(bool connected);

  net::io_context& ioc_;
  config::NatsConfig config_;
  spdlog::logger& log_;
  std::shared_ptr<Adapter> adapter_;
  void* nc_ = nullptr;  // natsConnection*
  std::vector<std::unique_ptr<Subscription>> subscriptions_;
  SubscriptionId next_id_ = 1;
  bool draining_ = false;
  bool connected_ = false;
  bool ever_connected_ = false;
  std::uint64_t reconnects_ = 0;
  std::function<void(bool)> on_state_;
  net::steady_timer restart_timer_;
  unsigned closed_in_a_row_ = 0;
};

}  // namespace tickrelay::backbone
