#pragma once
// The relay's metrics, produced when Prometheus scrapes: process figures from
// /proc, the hot path's plain counters, and upstream state. Every label set
// is fixed or bounded by the config, so the output does not grow as clients
// come and go.
#include <prometheus/collectable.h>
#include <prometheus/registry.h>

#include <memory>
#include <vector>

#include "tickrelay/fanout/relay_counters.hpp"

namespace tickrelay::fanout {
class Router;
}
namespace tickrelay::upstream {
class UpstreamPool;
}
namespace tickrelay::backbone {
class Backbone;
}
namespace tickrelay::books {
class BookService;
}

namespace tickrelay::relay {

class MetricsExporter : public prometheus::Collectable {
 public:
  MetricsExporter(const fanout::RelayCounters& counters, const fanout::Router& router,
                  const upstream::UpstreamPool& pool, const backbone::Backbone* backbone = nullptr,
                  const books::BookService* books = nullptr);

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const fanout::RelayCounters& counters_;
  const fanout::Router& router_;
  const upstream::UpstreamPool& pool_;
  const backbone::Backbone* backbone_;  // null without a backbone
  const books::BookService* books_;     // null with books disabled
  // Metrics that never change once set (build info) live in a registry.
  std::shared_ptr<prometheus::Registry> registry_;
};

// Process metrics under the standard names (process_cpu_seconds_total, ...).
void append_process_families(std::vector<prometheus::MetricFamily>& out);

}  // namespace tickrelay::relay
