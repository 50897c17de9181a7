#include "upstream/reload_plan.hpp"

#include <algorithm>
#include <set>
#include <tuple>

namespace tickrelay::upstream {
namespace {

auto link_fields(const config::UpstreamConfig& c) {
  return std::tie(c.url, c.product, c.tls.verify, c.tls.ca_file, c.microsecond_time, c.max_streams_per_connection);
}

auto limit_fields(const config::UpstreamConfig& c) {
  return std::tie(c.reconnect_base_seconds, c.reconnect_cap_seconds, c.max_connection_age_seconds,
                  c.stall_timeout_seconds, c.connect_timeout_seconds, c.connection_rate_count,
                  c.connection_rate_window_seconds, c.message_rate_per_second, c.max_message_bytes);
}

}  // namespace

bool same_link(const config::UpstreamConfig& a, const config::UpstreamConfig& b) {
  return link_fields(a) == link_fields(b);
}

ReloadPlan plan_reload(const std::vector<config::UpstreamConfig>& running,
                       const std::vector<config::UpstreamConfig>& next) {
  ReloadPlan plan;
  std::vector<bool> handled(next.size(), false);
  for (const auto& old : running) {
    const auto found = std::find_if(next.begin(), next.end(),
                                    [&](const config::UpstreamConfig& c) { return c.name == old.name; });
    const auto index = static_cast<std::size_t>(found - next.begin());
    if (found == next.end() || !same_link(old, *found)) {
      ReloadPlan::Stop stop{old.name, {}};
      std::set<std::string> still;
      if (found != next.end()) still.insert(found->streams.begin(), found->streams.end());
      for (const auto& s : old.streams) {
        if (!still.contains(s)) stop.retire.push_back(s);
      }
      plan.stop.push_back(std::move(stop));
      continue;  // a changed one is started below, in the new config's order
    }
    handled[index] = true;
    ReloadPlan::Keep keep{old.name, index, {}, {}, limit_fields(old) != limit_fields(*found)};
    const std::set<std::string> wanted(found->streams.begin(), found->streams.end());
    const std::set<std::string> had(old.streams.begin(), old.streams.end());
    for (const auto& s : found->streams) {
      if (!had.contains(s)) keep.add.push_back(s);
    }
    for (const auto& s : old.streams) {
      if (!wanted.contains(s)) keep.remove.push_back(s);
    }
    plan.keep.push_back(std::move(keep));
  }
  for (std::size_t i = 0; i < next.size(); ++i) {
    if (!handled[i]) plan.start.push_back(i);
  }
  return plan;
}

}  // namespace tickrelay::upstream
