#pragma once
// How an upstream's shards reach it: host, port, TLS context, and the limits
// each new connection gets. Built from the config before anything runs, so
// a bad URL or CA file throws while the running configuration is untouched.
#include <memory>
#include <string>

#include "tickrelay/relay/config.hpp"
#include "tickrelay/wire/asio.hpp"
#include "upstream/connection.hpp"

namespace tickrelay::upstream {

struct UpstreamLink {
  std::string name;
  std::string host;
  unsigned short port = 0;
  bool tls = false;
  bool verify = true;
  bool microsecond_time = false;
  std::unique_ptr<ssl::context> tls_context;  // set when tls
  ConnectionTimeouts timeouts;
  double max_connection_age_seconds = 0;
};

// Throws std::runtime_error (a bad URL, a CA file that is not a certificate).
UpstreamLink make_upstream_link(const config::UpstreamConfig& config);

// The limits a reload may change on a running link.
void update_link_limits(UpstreamLink& link, const config::UpstreamConfig& config);

}  // namespace tickrelay::upstream
