#pragma once
// Owns tickrelayd's long-lived parts and wires them: router, upstream pool,
// client listener and registry, metrics server. Answers which streams a
// client may subscribe to. One io_context, one thread.
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "config/config.hpp"
#include "downstream/stream_catalog.hpp"
#include "metrics/relay_counters.hpp"
#include "net.hpp"

namespace spdlog {
class logger;
}

namespace tickrelay {

namespace relay {
class Router;
}
namespace upstream {
class DnsResolver;
class UpstreamPool;
}  // namespace upstream
namespace downstream {
class ClientRegistry;
class Listener;
}  // namespace downstream
namespace metrics {
class MetricsExporter;
class MetricsServer;
}  // namespace metrics

class App final : private downstream::StreamCatalog {
 public:
  App(net::io_context& ioc, config::Config config, spdlog::logger& log, metrics::RelayCounters& counters);
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
  relay::StreamId resolve(std::string_view name, std::string_view prefix, bool microsecond,
                          std::string& error) override;
  bool replay_for(relay::StreamKind kind) const;
  void open_listener(const config::ServerConfig& server, bool adopt_systemd_socket);

  net::io_context& ioc_;
  config::Config config_;
  spdlog::logger& log_;
  metrics::RelayCounters& counters_;
  std::unique_ptr<relay::Router> router_;
  std::unique_ptr<upstream::DnsResolver> resolver_;
  std::unique_ptr<upstream::UpstreamPool> pool_;
  std::unique_ptr<downstream::ClientRegistry> registry_;
  std::unique_ptr<ssl::context> server_tls_;
  std::shared_ptr<downstream::Listener> listener_;
  std::unique_ptr<metrics::MetricsExporter> exporter_;
  std::unique_ptr<metrics::MetricsServer> metrics_server_;
  // For the status line's rates.
  std::uint64_t last_upstream_messages_ = 0;
  std::uint64_t last_delivered_ = 0;
  std::chrono::steady_clock::time_point last_status_{};
  bool stopping_ = false;
  // The client socket came from systemd (socket activation): it stays ours
  // whatever server.listen says.
  bool systemd_socket_ = false;
};

}  // namespace tickrelay
