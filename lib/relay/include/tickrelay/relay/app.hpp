#pragma once
// Owns tickrelayd's long-lived parts and wires them: router, upstream pool,
// client listener and registry, metrics server. Answers which streams a
// client may subscribe to. One io_context, one thread.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "tickrelay/fanout/relay_counters.hpp"
#include "tickrelay/fanout/stream_catalog.hpp"
#include "tickrelay/relay/config.hpp"
#include "tickrelay/wire/asio.hpp"

namespace spdlog {
class logger;
}

namespace tickrelay {
namespace fanout {
class ClientRegistry;
class Listener;
class Router;
}  // namespace fanout
namespace backbone {
class Backbone;
}  // namespace backbone
namespace books {
class BookService;
}  // namespace books
namespace observe {
class MetricsServer;
}  // namespace observe
namespace upstream {
class ConnectionFactory;
class DnsResolver;
class UpstreamPool;
}  // namespace upstream
}  // namespace tickrelay

namespace tickrelay::relay {

class MetricsExporter;

class App final : private fanout::StreamCatalog {
 public:
  App(net::io_context& ioc, config::Config config, spdlog::logger& log, fanout::RelayCounters& counters);
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  // Opens the listeners (or adopts systemd's socket) and starts the
  // upstreams. Throws std::runtime_error naming what failed.
  void start();
  // Applies a validated new configuration without dropping clients. Throws
  // std::runtime_error if a part cannot be applied (the rest stays as it was).
  void apply(const config::Config& next);
  // Stops accepting, closes every client with 1001 after its queue drains
  // (up to shutdown_drain), then calls `done`.
  void shutdown(std::function<void()> done);

  std::pair<bool, std::string> health() const;
  std::string status_line();
  tcp::endpoint client_endpoint() const;
  tcp::endpoint metrics_endpoint() const;
  const config::Config& config() const { return config_; }

 private:
  fanout::StreamId resolve(std::string_view name, std::string_view prefix, bool microsecond,
                           std::string& error) override;
  bool replay_for(fanout::StreamKind kind) const;
  // subscribe_on_demand: adds a stream within max_on_demand_streams, and
  // forgets those nobody wanted for on_demand_idle.
  fanout::StreamId add_on_demand(std::string_view name, std::string& error);
  void sweep_on_demand();
  void open_listener(const config::ServerConfig& server, bool adopt_systemd_socket, std::unique_ptr<ssl::context> tls);
  // Started: /metrics, /healthz and /clients on `listen`.
  std::unique_ptr<observe::MetricsServer> make_metrics_server(const std::string& listen);

  net::io_context& ioc_;
  config::Config config_;
  spdlog::logger& log_;
  fanout::RelayCounters& counters_;
  std::unique_ptr<fanout::Router> router_;
  std::unique_ptr<upstream::DnsResolver> resolver_;
  std::unique_ptr<upstream::ConnectionFactory> connections_;
  std::unique_ptr<upstream::UpstreamPool> pool_;
  // The NATS backbone, when backbone.nats is configured (read at start).
  std::unique_ptr<backbone::Backbone> backbone_;
  // Order books of the diff-depth streams, served at Binance's REST paths.
  std::unique_ptr<books::BookService> books_;
  std::unique_ptr<fanout::ClientRegistry> registry_;
  std::unique_ptr<ssl::context> server_tls_;
  std::shared_ptr<fanout::Listener> listener_;
  std::unique_ptr<relay::MetricsExporter> exporter_;
  std::unique_ptr<observe::MetricsServer> metrics_server_;
  // For the status line's rates.
  std::uint64_t last_upstream_messages_ = 0;
  std::uint64_t last_delivered_ = 0;
  std::chrono::steady_clock::time_point last_status_{};
  bool stopping_ = false;
  // Streams added on demand, and since when nobody has subscribed to each
  // (time_point::max() while someone does).
  std::map<std::string, std::chrono::steady_clock::time_point, std::less<>> on_demand_;
  net::steady_timer on_demand_timer_;
  bool on_demand_sweeping_ = false;
  // The client socket came from systemd (socket activation): it stays ours
  // whatever server.listen says.
  bool systemd_socket_ = false;
};

}  // namespace tickrelay::relay
