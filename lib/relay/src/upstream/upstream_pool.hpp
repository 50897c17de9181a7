#pragma once
// All upstreams: each one's shards (see Shard), the connection-rate window
// they share, streams added on demand, reloads applied from a ReloadPlan,
// and the status the metrics and health checks read. Connections come from
// the injected factory; every message goes through the one Ingest.
#include <array>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tickrelay/fanout/relay_counters.hpp"
#include "tickrelay/fanout/router.hpp"
#include "tickrelay/relay/config.hpp"
#include "tickrelay/wire/asio.hpp"
#include "upstream/end_reason.hpp"
#include "upstream/ingest.hpp"
#include "upstream/reload_plan.hpp"

namespace spdlog {
class logger;
}

namespace tickrelay::upstream {

class ConnectionFactory;

class UpstreamPool {
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
    ReconnectCounts reconnects{};
  };

  UpstreamPool(net::io_context& ioc, ConnectionFactory& factory, fanout::Router& router,
               fanout::RelayCounters& counters, spdlog::logger& log, ReplayPolicy replay,
               std::function<double()> uniform);
  ~UpstreamPool();
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  // Registers every configured stream with the router and opens the shards.
  // Throws std::runtime_error (a bad CA file, an unroutable stream) before
  // anything is opened.
  void start(const std::vector<config::UpstreamConfig>& upstreams);
  void stop();

  struct Upstream;
  // A reload's upstream part with everything that can throw already done.
  struct PreparedReload {
    PreparedReload();
    ~PreparedReload();
    PreparedReload(PreparedReload&&) noexcept;
    PreparedReload& operator=(PreparedReload&&) noexcept;
    std::vector<config::UpstreamConfig> upstreams;
    ReloadPlan plan;
    std::vector<std::unique_ptr<Upstream>> starting;
  };

  // Builds what a reload needs (new links with their URL and TLS context,
  // the route of every new stream) and changes nothing. Throws
  // std::runtime_error naming what failed.
  PreparedReload prepare_apply(const std::vector<config::UpstreamConfig>& upstreams);
  // Applies a prepared reload without dropping clients: new streams are
  // subscribed, removed ones unsubscribed; an upstream whose URL, product or
  // TLS changed is reconnected. Returns the streams no longer carried.
  std::vector<fanout::StreamId> apply(PreparedReload reload);
  std::vector<fanout::StreamId> apply(const std::vector<config::UpstreamConfig>& upstreams) {
    return apply(prepare_apply(upstreams));
  }

  // Adds a stream on demand (a client asked for it): the first upstream that
  // can route it carries it. kNoStream with `error` when none can.
  fanout::StreamId add_on_demand(std::string_view name, std::string& error);

  // What a client subscribes to for a carried stream, given the path prefix
  // it connected under and the time unit it asked for (Ingest::client_form).
  fanout::StreamId client_form(fanout::StreamId stream, std::string_view prefix, bool microsecond);
  // Clients of a carried stream, in either time unit.
  std::size_t subscriber_count(fanout::StreamId stream) const { return ingest_.subscriber_count(stream); }

  // Every event as it came, after de-duplication (Ingest::set_tap).
  void set_event_tap(Ingest::Tap tap) { ingest_.set_tap(std::move(tap)); }

  // The upstreams as they run, streams added on demand included.
  std::vector<config::UpstreamConfig> configs() const;
  std::vector<ShardStatus> shard_status() const;
  std::vector<UpstreamStatus> upstream_status() const;
  std::size_t connected_shards() const;
  std::size_t total_shards() const;
  // Stopped upstreams whose connections are still closing.
  std::size_t retired_count() const { return retired_.size(); }

 private:
  std::unique_ptr<Upstream> prepare(const config::UpstreamConfig& config);
  void launch(Upstream& upstream);
  void retire(std::unique_ptr<Upstream> upstream);
  // Places `names` on the upstream's shards (new ones past the per-connection
  // limit) and subscribes each shard's share in one go.
  void add_streams(Upstream& upstream, const std::vector<std::string>& names);
  fanout::StreamId register_stream(const Upstream& upstream, const std::string& name);
  void on_shard_idle();
  void free_retired();

  net::io_context& ioc_;
  ConnectionFactory& factory_;
  fanout::Router& router_;
  spdlog::logger& log_;
  ReplayPolicy replay_;
  std::function<double()> uniform_;
  Ingest ingest_;
  std::vector<std::unique_ptr<Upstream>> upstreams_;
  // Upstreams a reload stopped, until their last connection has ended.
  std::vector<std::unique_ptr<Upstream>> retired_;
  // Frees retired upstreams from a handler of its own, never from inside a
  // shard's callback.
  net::steady_timer free_timer_;
  bool stopped_ = false;
};

}  // namespace tickrelay::upstream
