#include "tickrelay/observe/family_builder.hpp"

#include <limits>
#include <stdexcept>

namespace tickrelay::observe {

prometheus::MetricFamily make_family(std::string name, std::string help, prometheus::MetricType type) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  return family;
}

prometheus::ClientMetric counter_metric(Labels labels, double value) {
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  metric.counter.value = value;
  return metric;
}

prometheus::ClientMetric gauge_metric(Labels labels, double value) {
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  metric.gauge.value = value;
  return metric;
}

prometheus::ClientMetric histogram_metric(Labels labels, std::span<const double> upper_bounds,
                                          std::span<const std::uint64_t> bucket_counts, double sum) {
  if (bucket_counts.size() != upper_bounds.size() + 1) {
    throw std::invalid_argument("histogram needs one count per bound plus the +Inf count");
  }
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  metric.histogram.bucket.reserve(bucket_counts.size());
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bucket_counts.size(); ++i) {
    cumulative += bucket_counts[i];
    prometheus::ClientMetric::Bucket bucket;
    bucket.cumulative_count = cumulative;
    bucket.upper_bound = i < upper_bounds.size() ? upper_bounds[i] : std::numeric_limits<double>::infinity();
    metric.histogram.bucket.push_back(bucket);
  }
  metric.histogram.sample_count = cumulative;
  metric.histogram.sample_sum = sum;
  return metric;
}

}  // namespace tickrelay::observe
