#include "tickrelay/relay/app.hpp"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <algorithm>
#include <charconv>
#include <iterator>
#include <random>
#include <stdexcept>
#include <tuple>

#include "backbone/backbone.hpp"
#include "books/book_service.hpp"
#include "metrics_exporter.hpp"
#include "tickrelay/fanout/client_registry.hpp"
#include "tickrelay/fanout/listener.hpp"
#include "tickrelay/fanout/router.hpp"
#include "tickrelay/fanout/stream_name.hpp"
#include "tickrelay/observe/metrics_server.hpp"
#include "tickrelay/wire/duration.hpp"
#include "tickrelay/wire/endpoint.hpp"
#include "tickrelay/wire/tls_context.hpp"
#include "upstream/dns_resolver.hpp"
#include "upstream/upstream_connection_factory.hpp"
#include "upstream/upstream_pool.hpp"

namespace tickrelay::relay {

App::App(net::io_context& ioc, config::Config config, spdlog::logger& log, fanout::RelayCounters& counters)
    : ioc_(ioc),
      config_(std::move(config)),
      log_(log),
      counters_(counters),
      router_(std::make_unique<fanout::Router>()),
      resolver_(std::make_unique<upstream::DnsResolver>(ioc)),
      connections_(std::make_unique<upstream::UpstreamConnectionFactory>(ioc, *resolver_, *router_, log)),
      on_demand_timer_(ioc) {
  // Jitter only needs to differ between shards and restarts, not to be secret.
  auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
  pool_ = std::make_unique<upstream::UpstreamPool>(
      ioc, *connections_, *router_, counters_, log_, [this](fanout::StreamKind kind) { return replay_for(kind); },
      [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); });
  registry_ = std::make_unique<fanout::ClientRegistry>(ioc, config_.server, *router_,
                                                       static_cast<fanout::StreamCatalog&>(*this), counters_, log_);
  if (config_.backbone.enabled()) {
    backbone_ = std::make_unique<backbone::Backbone>(ioc, config_.backbone.nats, *router_, counters_, log_,
                                                     [this](fanout::StreamKind kind) { return replay_for(kind); });
  }
  if (config_.books.enabled) {
    books_ = std::make_unique<books::BookService>(ioc, config_.books, *router_, *resolver_, log_);
    registry_->set_rest(books_.get());
  }
  const bool publish = backbone_ && config_.backbone.nats.publish;
  if (publish || books_) {
    pool_->set_event_tap([this, publish](fanout::StreamId id, std::string_view message) {
      if (books_) books_->on_event(id, message);
      if (publish) backbone_->publish(id, message);
    });
  }
  exporter_ = std::make_unique<relay::MetricsExporter>(counters_, *router_, *pool_, backbone_.get(), books_.get());
}

App::~App() = default;

namespace {

// The upstreams the pool connects to Binance (or another relay) for.
std::vector<config::UpstreamConfig> binance_upstreams(const std::vector<config::UpstreamConfig>& upstreams) {
  std::vector<config::UpstreamConfig> out;
  std::copy_if(upstreams.begin(), upstreams.end(), std::back_inserter(out),
               [](const config::UpstreamConfig& up) { return up.type == config::UpstreamType::binance; });
  return out;
}

bool same_books(const config::BooksConfig& a, const config::BooksConfig& b) {
  return std::tie(a.enabled, a.snapshot_limit, a.max_levels, a.max_buffered_events, a.weight_per_minute,
                  a.max_concurrent_snapshots, a.request_timeout_seconds, a.wait_seconds, a.client_weight_per_minute) ==
         std::tie(b.enabled, b.snapshot_limit, b.max_levels, b.max_buffered_events, b.weight_per_minute,
                  b.max_concurrent_snapshots, b.request_timeout_seconds, b.wait_seconds, b.client_weight_per_minute);
}

// The client list's size: `limit=N` in the query, at most kMaxListedClients.
constexpr std::size_t kDefaultListedClients = 100;
constexpr std::size_t kMaxListedClients = 1000;

std::size_t listed_clients(std::string_view query) {
  std::size_t limit = kDefaultListedClients;
  const auto at = query.find("limit=");
  if (at != std::string_view::npos && (at == 0 || query[at - 1] == '&')) {
    const auto digits = query.substr(at + 6);
    std::from_chars(digits.data(), digits.data() + digits.size(), limit);
  }
  return std::min(limit, kMaxListedClients);
}

}  // namespace

std::unique_ptr<observe::MetricsServer> App::make_metrics_server(const std::string& listen) {
  auto server = std::make_unique<observe::MetricsServer>(
      ioc_, wire::parse_endpoint(listen), [this] { return exporter_->Collect(); }, [this] { return health(); });
  // Who is connected and how far behind, lagging first (bounded in size).
  server->add_json("/clients",
                   [this](std::string_view query) { return registry_->clients_json(listed_clients(query)); });
  server->start();
  return server;
}

bool App::replay_for(fanout::StreamKind kind) const {
  if (!fanout::is_state_stream(kind)) return false;
  const auto it = config_.server.replay.find(std::string(fanout::replay_family(kind)));
  return it != config_.server.replay.end() && it->second;
}

namespace {

// The context wss:// clients are served with; null for plain ws://.
std::unique_ptr<ssl::context> server_tls(const config::ServerConfig& server) {
  if (server.tls.cert_file.empty()) return nullptr;
  return std::make_unique<ssl::context>(wire::make_server_tls_context(server.tls.cert_file, server.tls.key_file));
}

}  // namespace

void App::open_listener(const config::ServerConfig& server, bool adopt_systemd_socket,
                        std::unique_ptr<ssl::context> tls) {
  auto listener = std::make_shared<fanout::Listener>(ioc_, *registry_, tls.get());
  // systemd socket activation: the listening socket survives our restarts.
  const int passed = adopt_systemd_socket ? sd_listen_fds(1) : 0;
  if (passed > 0) {
    listener->adopt(SD_LISTEN_FDS_START);
    systemd_socket_ = true;
    log_.info("listening on the socket passed by systemd address={}; server.listen is ignored",
              listener->local_endpoint().address().to_string());
    if (passed > 1) log_.warn("systemd passed more than one socket; only the first is used count={}", passed);
  } else {
    listener->listen(wire::parse_endpoint(server.listen));
  }
  if (listener_) listener_->stop();
  listener_ = std::move(listener);
  server_tls_ = std::move(tls);
  listener_->start();
  const auto endpoint = listener_->local_endpoint();
  log_.info("clients listener up address={}:{} tls={}", endpoint.address().to_string(), endpoint.port(),
            server_tls_ != nullptr);
}

void App::start() {
  open_listener(config_.server, true, server_tls(config_.server));
  metrics_server_ = make_metrics_server(config_.metrics.listen);
  const auto m = metrics_server_->local_endpoint();
  log_.info("metrics listener up address={}:{}", m.address().to_string(), m.port());
  pool_->start(binance_upstreams(config_.upstreams));
  if (books_) books_->configure(pool_->configs());
  if (backbone_) {
    backbone_->index_published(config_.upstreams);
    backbone_->apply_edge(config_.upstreams);
    backbone_->start();
  }
  last_status_ = std::chrono::steady_clock::now();
}

void App::apply(const config::Config& next) {
  // What can fail comes first: the upstreams' new links and routes, then the
  // listeners; if either throws, nothing else changed.
  const bool has_edge = std::any_of(next.upstreams.begin(), next.upstreams.end(),
                                    [](const auto& up) { return up.type == config::UpstreamType::nats; });
  if (has_edge && !backbone_)
    throw std::runtime_error("upstreams of type nats need the backbone, which is read at start: restart the relay");
  if (next.backbone.nats != config_.backbone.nats)
    log_.warn("backbone.nats is read at start only: its changes take effect when the relay restarts");
  if (!same_books(next.books, config_.books))
    log_.warn("books is read at start only: its changes take effect when the relay restarts");
  auto upstreams = pool_->prepare_apply(binance_upstreams(next.upstreams));
  // The certificate and key are read again on every reload, so one renewed
  // in place (same paths, new contents) is served from now on. New
  // connections get the new context; open ones keep theirs.
  auto tls = server_tls(next.server);
  const bool listen_changed = next.server.listen != config_.server.listen;
  if (listen_changed && systemd_socket_) {
    log_.warn("server.listen is ignored: clients connect through the socket systemd passed listen={}",
              next.server.listen);
  }
  if (listen_changed && !systemd_socket_) {
    open_listener(next.server, false, std::move(tls));
  } else {
    if (tls) log_.info("client TLS certificate loaded cert_file={}", next.server.tls.cert_file);
    if (!tls && server_tls_) log_.info("clients are served plain ws:// from now on");
    listener_->set_tls(tls.get());
    server_tls_ = std::move(tls);
  }
  if (next.metrics.listen != config_.metrics.listen) {
    auto server = make_metrics_server(next.metrics.listen);
    metrics_server_->stop();
    metrics_server_ = std::move(server);
  }
  const auto old_replay = config_.server.replay;
  config_.server = next.server;
  config_.metrics = next.metrics;
  config_.log = next.log;
  config_.cpu_affinity = next.cpu_affinity;
  registry_->apply(next.server);
  if (old_replay != next.server.replay) {
    for (fanout::StreamId id = 0; id < router_->stream_count(); ++id)
      router_->set_replay(id, replay_for(router_->kind(id)));
  }
  auto retired = pool_->apply(std::move(upstreams));
  if (books_) books_->configure(pool_->configs());
  if (backbone_) {
    backbone_->index_published(next.upstreams);
    const auto edge_retired = backbone_->apply_edge(next.upstreams);
    retired.insert(retired.end(), edge_retired.begin(), edge_retired.end());
  }
  config_.upstreams = next.upstreams;
  for (const auto id : retired) registry_->retire_stream(id);
  // A stream's form in the other time unit goes with it; it is not counted.
  log_.info("configuration applied streams={} retired={}", router_->carried_count(),
            std::count_if(retired.begin(), retired.end(), [&](fanout::StreamId id) { return !router_->derived(id); }));
}

fanout::StreamId App::resolve(std::string_view name, std::string_view prefix, bool microsecond, std::string& error) {
  // Checked first: the router's own names for a stream's other time unit
  // ("...|ms") are not stream names.
  if (!fanout::parse_stream_name(name)) {
    error = "invalid stream name `" + std::string(name) + "`";
    return fanout::kNoStream;
  }
  auto id = router_->find(name);
  if (id == fanout::kNoStream || !router_->carried(id)) {
    if (!config_.server.subscribe_on_demand) {
      error = "stream `" + std::string(name) + "` is not carried by this relay";
      return fanout::kNoStream;
    }
    id = add_on_demand(name, error);
    if (id == fanout::kNoStream) return id;
  }
  if (backbone_ && backbone_->carries(id)) return backbone_->client_form(id, prefix, microsecond);
  return pool_->client_form(id, prefix, microsecond);
}

fanout::StreamId App::add_on_demand(std::string_view name, std::string& error) {
  if (stopping_) {
    error = "the relay is shutting down";
    return fanout::kNoStream;
  }
  if (on_demand_.size() >= config_.server.max_on_demand_streams) {
    error = "stream `" + std::string(name) + "` is not carried and no more streams can be added on demand (at most " +
            std::to_string(config_.server.max_on_demand_streams) + ")";
    return fanout::kNoStream;
  }
  const auto id = pool_->add_on_demand(name, error);
  if (id == fanout::kNoStream) return id;
  if (backbone_) backbone_->index_published(pool_->configs());
  if (books_) books_->configure(pool_->configs());
  on_demand_.insert_or_assign(std::string(name), std::chrono::steady_clock::time_point::max());
  if (!on_demand_sweeping_) sweep_on_demand();
  return id;
}

void App::sweep_on_demand() {
  const auto now = std::chrono::steady_clock::now();
  const auto idle = wire::to_duration(config_.server.on_demand_idle_seconds);
  std::vector<std::string> unwanted;
  for (auto& [name, idle_since] : on_demand_) {
    const auto id = router_->find(name);
    if (id == fanout::kNoStream || !router_->carried(id)) {
      unwanted.push_back(name);  // a reload took it away already
    } else if (pool_->subscriber_count(id) != 0) {
      idle_since = std::chrono::steady_clock::time_point::max();
    } else if (idle_since == std::chrono::steady_clock::time_point::max()) {
      idle_since = now;
    } else if (now - idle_since >= idle) {
      unwanted.push_back(name);
    }
  }
  if (!unwanted.empty()) {
    auto upstreams = pool_->configs();
    for (auto& up : upstreams) {
      std::erase_if(up.streams, [&](const std::string& s) {
        return std::find(unwanted.begin(), unwanted.end(), s) != unwanted.end();
      });
    }
    try {
      const auto retired = pool_->apply(upstreams);
      if (books_) books_->configure(pool_->configs());
      for (const auto id : retired) registry_->retire_stream(id);
      for (const auto& name : unwanted) on_demand_.erase(name);
      log_.info("streams added on demand and no longer wanted were unsubscribed count={}", unwanted.size());
    } catch (const std::exception& e) {
      log_.warn("could not unsubscribe unwanted on-demand streams error=\"{}\"", e.what());
    }
  }
  on_demand_sweeping_ = !on_demand_.empty() && !stopping_;
  if (!on_demand_sweeping_) return;
  // Twice per idle period: a stream goes between one and one and a half
  // periods after its last client.
  on_demand_timer_.expires_after(idle / 2);
  on_demand_timer_.async_wait([this](error_code ec) {
    if (!ec) sweep_on_demand();
  });
}

std::pair<bool, std::string> App::health() const {
  if (stopping_) return {false, "shutting down"};
  if (!listener_ || !listener_->listening()) return {false, "client listener is not open"};
  if (backbone_ && !backbone_->connected()) return {false, "backbone is not connected"};
  for (const auto& shard : pool_->shard_status()) {
    if (!shard.connected) {
      return {false, "upstream " + shard.upstream + " shard " + std::to_string(shard.shard) + " is not connected"};
    }
  }
  return {true, "ok"};
}

std::string App::status_line() {
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::max(1e-3, std::chrono::duration<double>(now - last_status_).count());
  const double in_rate = static_cast<double>(counters_.upstream_messages - last_upstream_messages_) / elapsed;
  const double out_rate = static_cast<double>(counters_.delivered_messages - last_delivered_) / elapsed;
  last_status_ = now;
  last_upstream_messages_ = counters_.upstream_messages;
  last_delivered_ = counters_.delivered_messages;
  return fmt::format("clients={} upstream={}/{} in={:.0f} msg/s out={:.0f} msg/s", counters_.clients_connected,
                     pool_->connected_shards(), pool_->total_shards(), in_rate, out_rate);
}

void App::shutdown(std::function<void()> done) {
  if (stopping_) return;
  stopping_ = true;
  on_demand_timer_.cancel();
  log_.info("shutting down clients={} drain={}s", registry_->size(), config_.server.shutdown_drain_seconds);
  if (listener_) listener_->stop();
  pool_->stop();
  if (books_) books_->stop();
  if (backbone_) backbone_->stop();
  // Sessions in their handshake time out within handshake_timeout; past
  // that, stop waiting whatever is left.
  registry_->close_all(wire::to_duration(config_.server.shutdown_drain_seconds),
                       wire::to_duration(config_.server.handshake_timeout_seconds + 1),
                       [this, done = std::move(done)](std::size_t left) {
                         if (left != 0) log_.warn("shutdown gave up on clients clients_left={}", left);
                         if (metrics_server_) metrics_server_->stop();
                         done();
                       });
}

tcp::endpoint App::client_endpoint() const { return listener_->local_endpoint(); }
tcp::endpoint App::metrics_endpoint() const { return metrics_server_->local_endpoint(); }

}  // namespace tickrelay::relay
