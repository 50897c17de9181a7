#pragma once
// How an upstream's streams are spread over connections: grouped by the path
// that carries them, then cut into shards of at most max_streams_per_connection.
// Pure, so the split is tested without sockets.
#include <cstddef>
#include <string>
#include <vector>

#include "tickrelay/relay/config.hpp"

namespace tickrelay::upstream {

struct ShardSpec {
  std::string path;  // "", "/market", "/public"
  std::vector<std::string> streams;
};

std::vector<ShardSpec> plan_shards(const config::UpstreamConfig& upstream);

// The path that carries `stream` for this upstream, or nullopt-like empty
// optional when it cannot be routed.
std::string route_or_throw(const config::UpstreamConfig& upstream, const std::string& stream);

// The request target of a combined-stream connection: <path>/stream?streams=a/b
// [&timeUnit=MICROSECOND], holding the streams whose names fit in
// `url_budget` bytes; the rest are returned in `overflow` for SUBSCRIBE.
std::string combined_target(const std::string& path, const std::vector<std::string>& streams, bool microsecond,
                            std::size_t url_budget, std::vector<std::string>& overflow);

// Longest stream list put in a URL; beyond it streams go by SUBSCRIBE.
// Front ends commonly cap the request line at 8 KiB.
inline constexpr std::size_t kUrlStreamBudget = 4000;

}  // namespace tickrelay::upstream
