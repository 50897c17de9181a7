#pragma once
// One shard of an upstream: up to max_streams_per_connection streams on one
// connection, kept alive across everything Binance does to it. A lost
// connection is replaced after a backoff; before Binance's 24-hour limit,
// or at once on serverShutdown, a replacement opens first and takes over at
// its first event; the old one stays open until the new one carries every
// stream the old one still owns from a point already delivered (the Ingest
// drops events seen on both), or until kMaxDrain. Every open goes through the upstream's connection-rate window. The
// shard observes its own connections, so a message reaches it without a
// lookup.
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "tickrelay/wire/asio.hpp"
#include "upstream/backoff.hpp"
#include "upstream/connection.hpp"
#include "upstream/end_reason.hpp"

namespace spdlog {
class logger;
}

namespace tickrelay::upstream {

class ConnectionFactory;
class Ingest;
class RateWindow;
struct UpstreamLink;

class Shard final : public std::enable_shared_from_this<Shard>, private Connection::Observer {
 public:
  // `link`, `opens` and `reconnects` belong to the upstream and outlive the
  // shard. `on_idle` runs when a stopped shard's last connection has ended.
  Shard(net::io_context& ioc, ConnectionFactory& factory, Ingest& ingest, const UpstreamLink& link, RateWindow& opens,
        ReconnectCounts& reconnects, Backoff backoff, spdlog::logger& log, std::size_t index, std::string path,
        std::vector<std::string> streams, std::function<void()> on_idle);
  ~Shard();
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  void start();
  // Cancels the timers and closes the connections (reason `stopped`).
  void stop();

  // Subscribes more streams on the open connections, in as few SUBSCRIBE
  // messages as the per-message bound allows; before start() they only
  // join the connection's URL.
  void add_streams(const std::vector<std::string>& names);
  // Unsubscribes the streams not in `wanted`; returns them.
  std::vector<std::string> keep_only(const std::set<std::string>& wanted);

  std::size_t index() const { return index_; }
  const std::string& path() const { return path_; }
  const std::vector<std::string>& streams() const { return streams_; }
  bool connected() const;
  // No connection left, open or closing.
  bool idle() const { return !active_ && !replacement_ && !draining_; }
  Backoff& backoff() { return backoff_; }

 private:
  void open(bool replacement);
  void schedule_rotation();
  void schedule_reconnect(EndReason reason);
  void begin_rotation(EndReason reason);
  void promote_replacement();
  void watch_drain(std::size_t polls_left);
  void send_to_open(const std::string& text);
  std::string request(const char* method, const std::vector<std::string>& streams);
  void count(EndReason reason);

  void on_open(Connection& connection) override;
  void on_message(Connection& connection, const char* data, std::size_t size, std::size_t capacity,
                  Connection::Clock::time_point received) override;
  void on_binary(Connection& connection, std::size_t size) override;
  void on_end(Connection& connection, EndReason reason, const error_code& ec) override;

  ConnectionFactory& factory_;
  Ingest& ingest_;
  const UpstreamLink& link_;
  RateWindow& opens_;
  ReconnectCounts& reconnects_;
  Backoff backoff_;
  spdlog::logger& log_;
  std::size_t index_;
  std::string path_;
  std::vector<std::string> streams_;
  std::function<void()> on_idle_;
  std::shared_ptr<Connection> active_;
  // The new connection of a rotation, until its first event.
  std::shared_ptr<Connection> replacement_;
  // The old connection of a rotation, until the new one has caught up.
  std::shared_ptr<Connection> draining_;
  net::steady_timer reconnect_timer_;
  net::steady_timer rotation_timer_;
  net::steady_timer open_timer_;  // an open deferred by the rate window
  net::steady_timer drain_timer_;
  std::uint64_t next_request_id_ = 1;
  bool pending_open_ = false;
  bool stopped_ = false;
};

}  // namespace tickrelay::upstream
