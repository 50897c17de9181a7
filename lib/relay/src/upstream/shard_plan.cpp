#include "tickrelay/relay/shard_plan.hpp"

#include <map>
#include <stdexcept>

#include "tickrelay/fanout/stream_name.hpp"
#include "upstream/stream_routing.hpp"

namespace tickrelay::upstream {

std::string route_or_throw(const config::UpstreamConfig& upstream, const std::string& stream) {
  const auto name = fanout::parse_stream_name(stream);
  if (!name) throw std::invalid_argument("not a Binance stream name: " + stream);
  const auto path = route_stream(upstream.product, name->kind);
  if (!path) {
    throw std::invalid_argument("stream " + stream + " is not served by " +
                                std::string(config::product_name(upstream.product)));
  }
  return std::string(*path);
}

std::vector<ShardSpec> plan_shards(const config::UpstreamConfig& upstream) {
  // Keep the config's order within each path; paths in first-seen order.
  std::vector<std::string> paths;
  std::map<std::string, std::vector<std::string>> by_path;
  for (const auto& stream : upstream.streams) {
    auto path = route_or_throw(upstream, stream);
    if (!by_path.contains(path)) paths.push_back(path);
    by_path[path].push_back(stream);
  }
  std::vector<ShardSpec> shards;
  const std::size_t per = upstream.max_streams_per_connection;
  for (const auto& path : paths) {
    const auto& streams = by_path[path];
    for (std::size_t i = 0; i < streams.size(); i += per) {
      ShardSpec shard{path, {}};
      const std::size_t end = std::min(streams.size(), i + per);
      shard.streams.assign(streams.begin() + static_cast<std::ptrdiff_t>(i),
                           streams.begin() + static_cast<std::ptrdiff_t>(end));
      shards.push_back(std::move(shard));
    }
  }
  return shards;
}

std::string combined_target(const std::string& path, const std::vector<std::string>& streams, bool microsecond,
                            std::size_t url_budget, std::vector<std::string>& overflow) {
  std::string target = path + "/stream?streams=";
  std::size_t used = 0;
  bool first = true;
  overflow.clear();
  for (const auto& s : streams) {
    if (used + s.size() + 1 > url_budget && !first) {
      overflow.push_back(s);
      continue;
    }
    if (!first) target += '/';
    target += s;
    used += s.size() + 1;
    first = false;
  }
  if (microsecond) target += "&timeUnit=MICROSECOND";
  return target;
}

}  // namespace tickrelay::upstream
