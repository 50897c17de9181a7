#pragma once
#include <prometheus/metric_family.h>

#include <memory>
#include <vector>

#include "load_options.hpp"

namespace tickrelay::client {

class LoadWorker;

// Prometheus families under tickrelay_load_, built at scrape time from the
// workers' plain counters (no registry, nothing on the hot path). Labels:
// impl (which implementation is measured) and target (its URL).
class LoadMetrics {
 public:
  LoadMetrics(const LoadOptions& options, const std::vector<std::unique_ptr<LoadWorker>>& workers)
      : options_(options), workers_(workers) {}

  std::vector<prometheus::MetricFamily> collect() const;

  // Latency histogram bounds in seconds: 10 µs to 10 s in 1-2.5-5 steps.
  static const std::vector<double>& latency_bounds();

 private:
  const LoadOptions& options_;
  const std::vector<std::unique_ptr<LoadWorker>>& workers_;
};

}  // namespace tickrelay::client
