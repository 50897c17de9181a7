#pragma once
#include <prometheus/metric_family.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tickrelay/wire/asio.hpp"

namespace tickrelay::observe {

struct MetricsServerState;

// Bounds for the scrape endpoint; it faces Prometheus and curl, never the
// public, so the limits only keep a stray client from holding resources.
struct MetricsServerLimits {
  // A scrape request is a few hundred bytes of headers; 8 KiB is Beast's own
  // header default and leaves room for proxies' extra headers.
  std::size_t max_request_bytes = 8 * 1024;
  // Longer than Prometheus' default 1 min scrape interval, so its keep-alive
  // connection survives between scrapes instead of reconnecting each time.
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(75);
  // A handful of scrapers and curls; more open sessions means something loops.
  std::size_t max_sessions = 32;
};

// Serves GET /metrics (Prometheus text format), GET /healthz and any JSON
// documents added (e.g. /clients) on the caller's io_context: no threads of
// its own, so a single-threaded program stays single-threaded
// (prometheus-cpp's Exposer runs civetweb threads).
class MetricsServer {
 public:
  using Collect = std::function<std::vector<prometheus::MetricFamily>()>;
  using HealthCheck = std::function<std::pair<bool, std::string>()>;  // healthy, reason
  // A JSON document built per request from the query string (after '?').
  using Document = std::function<std::string(std::string_view query)>;

  MetricsServer(net::io_context& ioc, tcp::endpoint endpoint, Collect collect, HealthCheck health,
                MetricsServerLimits limits = {});
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;
  ~MetricsServer();

  // Serves `document` as application/json at `path` (before start()).
  void add_json(std::string path, Document document);
  // Binds and listens; throws std::runtime_error naming the address on failure.
  void start();
  // Closes the acceptor and every open session; pending handlers finish with
  // operation_aborted. Safe to call twice.
  void stop();
  // The bound address (port 0 in the constructor becomes the real port).
  tcp::endpoint local_endpoint() const;

 private:
  void do_accept();
  void on_accept(error_code ec, tcp::socket socket);

  tcp::endpoint endpoint_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_timer_;
  // Shared with the sessions: a session's pending handler may run after the
  // server is gone and must still find its registry.
  std::shared_ptr<MetricsServerState> state_;
};

}  // namespace tickrelay::observe
