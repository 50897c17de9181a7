#pragma once
// All upstream connections: shards each upstream's streams over connections,
// paces how fast they open, reconnects with backoff, rotates each connection
// before Binance's 24-hour limit (new one first, then the old one closes, and
// events seen on both are delivered once), reacts to serverShutdown and
// stalls, and publishes every new event to the router. Clients never notice.
#include <array>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tickrelay/relay/config.hpp"
#include "tickrelay/fanout/relay_counters.hpp"
#include "tickrelay/wire/asio.hpp"
#include "frame_parser.hpp"
#include "tickrelay/fanout/router.hpp"
#include "upstream/backoff.hpp"
#include "upstream/rate_window.hpp"
#include "upstream/stream_sequencer.hpp"
#include "upstream/upstream_connection.hpp"

namespace spdlog {
class logger;
}

namespace tickrelay::upstream {

class DnsResolver;

class UpstreamPool : private UpstreamConnection::Observer {
 public:
  // Whether a stream's last value is kept for new subscribers.
  using ReplayPolicy = std::function<bool(fanout::StreamKind)>;

  struct ShardStatus {
    std::string upstream;
    std::size_t shard;
    bool connected;
    std::size_t streams;
  };
  struct UpstreamStatus {
    std::string name;
    std::array<std::uint64_t, kEndReasonCount> reconnects{};
  };

  UpstreamPool(net::io_context& ioc, DnsResolver& resolver, fanout::Router& router, fanout::RelayCounters& counters,
               spdlog::logger& log, ReplayPolicy replay, std::function<double()> uniform);
  ~UpstreamPool();

  // Registers every configured stream with the router and opens the shards.
  // Throws std::runtime_error (a bad CA file, an unroutable stream).
  void start(const std::vector<config::UpstreamConfig>& upstreams);
  void stop();

  // Applies a reloaded configuration without dropping clients: new streams
  // are subscribed, removed ones unsubscribed; an upstream whose URL, product
  // or TLS changed is reconnected. Returns the streams no longer carried.
  std::vector<fanout::StreamId> apply(const std::vector<config::UpstreamConfig>& upstreams);

  // Adds a stream on demand (a client asked for it): the first upstream that
  // can route it carries it. kNoStream with `error` when none can.
  fanout::StreamId add_on_demand(std::string_view name, std::string& error);

  std::vector<ShardStatus> shard_status() const;
  std::vector<UpstreamStatus> upstream_status() const;
  std::size_t connected_shards() const;
  std::size_t total_shards() const;

 private:
  struct Upstream;
  struct Shard;

  void start_upstream(Upstream& upstream);
  void stop_upstream(Upstream& upstream);
  void add_stream_to_upstream(Upstream& upstream, const std::string& name);
  Shard& shard_with_room(Upstream& upstream, const std::string& path);
  void open(Shard& shard, bool replacement);
  void schedule_reconnect(Shard& shard, EndReason reason);
  void schedule_rotation(Shard& shard);
  void begin_rotation(Shard& shard, EndReason reason);
  void promote_replacement(Shard& shard);
  fanout::StreamId register_stream(const std::string& name);

  void on_open(UpstreamConnection& connection) override;
  void on_message(UpstreamConnection& connection, const char* data, std::size_t size, std::size_t capacity,
                  UpstreamConnection::Clock::time_point received) override;
  void on_end(UpstreamConnection& connection, EndReason reason, const error_code& ec) override;

  net::io_context& ioc_;
  DnsResolver& resolver_;
  fanout::Router& router_;
  fanout::RelayCounters& counters_;
  spdlog::logger& log_;
  ReplayPolicy replay_;
  std::function<double()> uniform_;
  std::vector<std::unique_ptr<Upstream>> upstreams_;
  // Upstreams a reload stopped: kept until the pool ends, since timers and
  // closing connections may still refer to them.
  std::vector<std::unique_ptr<Upstream>> retired_upstreams_;
  std::map<std::uint64_t, Shard*> by_connection_;
  relay::FrameParser parser_;
  StreamSequencer sequencer_;
  std::uint64_t next_connection_id_ = 1;
  std::uint64_t next_request_id_ = 1;
  bool stopped_ = false;
};

}  // namespace tickrelay::upstream
