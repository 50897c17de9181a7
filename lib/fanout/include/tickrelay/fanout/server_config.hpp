#pragma once
// What the fan-out server needs to know about its clients, as plain values.
// Every default says why; the YAML keys (server.*) are documented in
// config/README.md.
#include <cstddef>
#include <map>
#include <string>

namespace tickrelay::fanout {

struct ServerTls {
  std::string cert_file;  // both empty: plain ws://
  std::string key_file;
};

struct ServerConfig {
  std::string listen = "0.0.0.0:8765";
  std::size_t max_clients = 10000;
  // One address may not take every slot: enough for a busy office behind one
  // NAT, far below max_clients. 0: no per-address cap (behind a proxy, whose
  // one address every client shares, or a load test on loopback).
  std::size_t max_clients_per_ip = 256;
  std::size_t client_queue_bytes = 4 << 20;  // ~10 s of the study's workload per client
  // A client whose oldest queued frame is older than this is closed (1008,
  // reason `lagging`). Two updates of a 1 s stream (kline, ticker): a client
  // further behind is better served by reconnecting, which replays every
  // stream's latest value at once, than by draining a backlog of old prices.
  double max_client_lag_seconds = 2;
  std::size_t max_streams_per_client = 1024;        // Binance's per-connection cap
  double client_message_rate = 5;                   // Binance: 5 messages a second
  std::size_t max_client_message_bytes = 64 << 10;  // a SUBSCRIBE of 1024 streams fits
  std::size_t max_request_bytes = 16 << 10;         // handshake request incl. headers
  std::size_t max_path_bytes = 12 << 10;            // /stream?streams=... for 1024 short names
  double handshake_timeout_seconds = 10;
  // A client idle this long is pinged; one that stays silent for the same
  // again is closed.
  double idle_ping_seconds = 30;
  double shutdown_drain_seconds = 5;  // SIGTERM: time queues get to drain
  std::string auth_token;             // empty: no token needed
  ServerTls tls;
  // What a SUBSCRIBE for a stream the config does not name gets: an error
  // (false), or the relay subscribes upstream on demand (true).
  bool subscribe_on_demand = false;
  // Streams added on demand at most, all clients together: each costs an
  // upstream subscription (Binance: 1024 per connection, connections paced),
  // and made-up names cost as much as real ones.
  std::size_t max_on_demand_streams = 256;
  // A stream added on demand that no client has wanted for this long is
  // unsubscribed upstream and forgotten.
  double on_demand_idle_seconds = 300;
  // Last-value replay on subscribe, per stream type; trade-like streams are
  // never replayed (a stale trade is not a state).
  std::map<std::string, bool> replay = {{"kline", true},      {"ticker", true}, {"miniTicker", true},
                                        {"bookTicker", true}, {"depth", true},  {"markPrice", true},
                                        {"avgPrice", true}};
};

}  // namespace tickrelay::fanout
