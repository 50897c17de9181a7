#pragma once
// What a reload changes in the upstreams, decided from the two configs
// alone (no I/O): which running upstreams stop, which start, and for each
// one kept, the streams to add and remove and whether its limits changed.
// An upstream whose link (URL, product, TLS, time unit, shard size) changed
// is stopped and started again; everything else changes in place.
#include <cstddef>
#include <string>
#include <vector>

#include "tickrelay/relay/config.hpp"

namespace tickrelay::upstream {

struct ReloadPlan {
  struct Stop {
    std::string name;
    // Its streams that no new upstream of the same name carries.
    std::vector<std::string> retire;
  };
  struct Keep {
    std::string name;
    std::size_t config = 0;           // index into the new configs
    std::vector<std::string> add;     // in the new config's order
    std::vector<std::string> remove;  // in the running config's order
    bool limits_changed = false;      // rate window, backoff, timeouts, age
  };
  std::vector<Stop> stop;
  std::vector<std::size_t> start;  // indices into the new configs, in order
  std::vector<Keep> keep;
};

// Settings a running connection was opened with: changing any needs new
// connections.
bool same_link(const config::UpstreamConfig& a, const config::UpstreamConfig& b);

ReloadPlan plan_reload(const std::vector<config::UpstreamConfig>& running,
                       const std::vector<config::UpstreamConfig>& next);

}  // namespace tickrelay::upstream
