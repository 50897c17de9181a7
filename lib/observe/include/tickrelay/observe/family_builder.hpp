#pragma once
#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace tickrelay::observe {

// Building blocks for collectors that keep plain counters on the hot path and
// turn them into Prometheus families only when scraped (no registry, no
// per-observation locking).
using Labels = std::vector<prometheus::ClientMetric::Label>;

prometheus::MetricFamily make_family(std::string name, std::string help, prometheus::MetricType type);

prometheus::ClientMetric counter_metric(Labels labels, double value);
prometheus::ClientMetric gauge_metric(Labels labels, double value);

// A histogram sample from per-bucket (not cumulative) counts:
// bucket_counts[i] holds the observations in (upper_bounds[i-1], upper_bounds[i]],
// and bucket_counts has one more entry than upper_bounds for the
// observations above the last bound (Prometheus' +Inf bucket). upper_bounds
// must be ascending. Throws std::invalid_argument on mismatched sizes.
prometheus::ClientMetric histogram_metric(Labels labels, std::span<const double> upper_bounds,
                                          std::span<const std::uint64_t> bucket_counts, double sum);

}  // namespace tickrelay::observe
