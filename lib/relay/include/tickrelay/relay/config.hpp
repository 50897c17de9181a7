#pragma once
// The relay's whole configuration as plain values. Every default says why; the
// YAML keys are documented in config/README.md.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tickrelay/fanout/server_config.hpp"
#include "tickrelay/observe/logging.hpp"

namespace tickrelay::config {

// Which Binance product an upstream speaks: it decides the path each stream
// is routed to and the product's limits.
enum class Product { spot, usdm_futures, coinm_futures };

struct UpstreamTls {
  bool verify = true;   // never off unless `verify: false` is written
  std::string ca_file;  // empty: the system's CA store
};

// Where an upstream's events come from: Binance (or anything speaking its
// WebSocket protocol, another tickrelayd included), or the NATS backbone
// that ingest relays publish to (an edge relay).
enum class UpstreamType { binance, nats };

struct UpstreamConfig {
  std::string name;
  UpstreamType type = UpstreamType::binance;
  std::string url;  // base URL: scheme, host, port; no stream path (binance only)
  Product product = Product::spot;
  // As written (templates with {symbol}, and literals), kept for reload diffs.
  std::vector<std::string> stream_patterns;
  std::vector<std::string> symbols;  // lowercased, de-duplicated, file order
  std::string symbols_file;          // resolved path, empty if `symbols:` used
  // Expanded: templates x symbols plus literals, lowercased symbols, no
  // duplicates, in configuration order.
  std::vector<std::string> streams;
  // Binance allows 1024 streams a connection (some futures docs say 200); the
  // study's USD-M workload used 200.
  std::size_t max_streams_per_connection = 200;
  // Ask for microsecond event times (`timeUnit=MICROSECOND`) so lag and
  // latency are measured to the microsecond. The loader's default: spot yes
  // (Binance documents it there), the futures products no. Clients get the
  // unit they ask for either way.
  bool microsecond_time = false;
  UpstreamTls tls;
  // Reconnect backoff: full jitter over base * 2^attempt, capped.
  double reconnect_base_seconds = 0.5;
  double reconnect_cap_seconds = 30.0;
  // Binance closes a connection at 24 h; replace it 10 minutes earlier.
  double max_connection_age_seconds = 23 * 3600 + 50 * 60;
  // No data and no ping for this long means the connection is dead. 0 picks
  // the product's default: 60 s for spot (pings every 20 s), 240 s for
  // futures (pings every 3 min).
  double stall_timeout_seconds = 0;
  double connect_timeout_seconds = 10;
  // Binance: 300 new connections per 5 minutes per IP.
  std::size_t connection_rate_count = 300;
  double connection_rate_window_seconds = 300;
  // Binance: 5 incoming messages a second (spot), 10 (futures); 0 = product
  // default. Pongs count too, so SUBSCRIBE pacing stays one below.
  double message_rate_per_second = 0;
  // Longest upstream message accepted; !ticker@arr on spot is ~500 KB.
  std::size_t max_message_bytes = 4 << 20;
  // Binance's REST API for the product's depth snapshots (order books):
  // https://api.binance.com, https://fapi.binance.com or
  // https://dapi.binance.com by default; the upstream's `tls` applies.
  std::string rest_url;
};

// Order books kept from the REST snapshot and the diff-depth streams
// (config/README.md, `books`), served on the client port at Binance's REST paths.
struct BooksConfig {
  bool enabled = true;
  // Levels asked per snapshot: spot takes up to 5000 (weight 250), the
  // futures products one of 5..1000 (weight 20 at 1000).
  std::size_t snapshot_limit = 1000;
  std::size_t max_levels = 5000;           // kept per side
  std::size_t max_buffered_events = 1000;  // waiting for a snapshot
  // REST request weight the relay spends per minute on each upstream's API;
  // Binance allows 6000 (spot) and 2400 (futures) per IP.
  std::size_t weight_per_minute = 1200;
  std::size_t max_concurrent_snapshots = 4;
  double request_timeout_seconds = 10;
  // A client's snapshot request waits this long for a book still syncing.
  double wait_seconds = 5;
  // Request weight one client address may use per minute at the relay.
  std::size_t client_weight_per_minute = 6000;
};

// Client-facing settings belong to the fan-out server, which the simulator
// shares; the relay's config names them here.
using ServerTls = fanout::ServerTls;
using ServerConfig = fanout::ServerConfig;

struct MetricsConfig {
  std::string listen = "127.0.0.1:9465";  // loopback: metrics are not public
};

using LogConfig = observe::LogConfig;

// The NATS backbone (deploy/README.md): ingest relays publish every upstream
// event on it, edge relays (upstreams of type nats) subscribe to what their
// clients want.
// TLS to the NATS servers: on when `backbone.nats.tls` is given or a URL
// is tls://. The server's certificate is always verified, against ca_file
// (else the system's store), and must carry server_name.
struct NatsTls {
  bool enabled = false;
  std::string ca_file;
  std::string cert_file;  // with key_file: this relay's certificate, for
  std::string key_file;   // servers that verify their clients
  // Default: the one host the URLs name. nats.c checks one name for every
  // server it connects to, so URLs naming different hosts need it set.
  std::string server_name;
  bool operator==(const NatsTls&) const = default;
};

struct NatsConfig {
  std::vector<std::string> urls;  // empty: no backbone
  std::string name;               // this relay on the backbone; default: host name
  // Ingest role: every event read from the Binance upstreams, after
  // de-duplication, is published on <subject_prefix>.<product>.<stream>.
  bool publish = false;
  std::string subject_prefix = "tickrelay";
  // Edge: a subject stays subscribed this long after its last client, so a
  // client that reconnects finds it warm.
  double unsubscribe_grace_seconds = 30;
  // Edge: an ingest relay heard from for this long is taken as gone; streams
  // whose events carry no id then follow another one.
  double source_timeout_seconds = 3;
  double connect_timeout_seconds = 2;
  double reconnect_wait_seconds = 0.25;
  // Output buffered for the NATS server (or while reconnecting) is bounded.
  std::size_t max_buffered_bytes = 64 << 20;
  NatsTls tls;
  // The server's authorization, one of: user and password; a token; an
  // NKey (its public key and the file holding its seed); a credentials file
  // (a user JWT and its NKey seed, NATS' decentralised accounts); or none.
  std::string user;
  std::string password;
  std::string token;
  std::string nkey;
  std::string nkey_seed_file;
  std::string credentials_file;
  bool operator==(const NatsConfig&) const = default;
};

struct BackboneConfig {
  NatsConfig nats;
  bool enabled() const { return !nats.urls.empty(); }
};

struct Config {
  std::string source;  // file the config came from, for messages
  std::vector<UpstreamConfig> upstreams;
  ServerConfig server;
  MetricsConfig metrics;
  BackboneConfig backbone;
  BooksConfig books;
  int cpu_affinity = -1;  // -1: leave the scheduler's choice
  LogConfig log;
};

const char* product_name(Product product);

}  // namespace tickrelay::config
