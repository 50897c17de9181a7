#include "tickrelay/observe/family_builder.hpp"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <cmath>

namespace tickrelay::observe {
namespace {

TEST(FamilyBuilder, HistogramBucketsAreCumulativeWithInfinity) {
  const std::vector<double> bounds{0.001, 0.01};
  const std::vector<std::uint64_t> counts{2, 3, 1};
  const auto metric = histogram_metric({{"impl", "a"}}, bounds, counts, 0.5);
  ASSERT_EQ(metric.histogram.bucket.size(), 3u);
  EXPECT_EQ(metric.histogram.bucket[0].cumulative_count, 2u);
  EXPECT_EQ(metric.histogram.bucket[1].cumulative_count, 5u);
  EXPECT_EQ(metric.histogram.bucket[2].cumulative_count, 6u);
  EXPECT_TRUE(std::isinf(metric.histogram.bucket[2].upper_bound));
  EXPECT_EQ(metric.histogram.sample_count, 6u);
  EXPECT_DOUBLE_EQ(metric.histogram.sample_sum, 0.5);
  EXPECT_THROW(histogram_metric({}, bounds, std::vector<std::uint64_t>{1, 2}, 0), std::invalid_argument);
}

TEST(FamilyBuilder, FamiliesSerializeAsPrometheusText) {
  auto counters = make_family("x_total", "Things.", prometheus::MetricType::Counter);
  counters.metric.push_back(counter_metric({{"impl", "a"}}, 3));
  auto gauges = make_family("y", "Level.", prometheus::MetricType::Gauge);
  gauges.metric.push_back(gauge_metric({}, 1.5));
  auto histograms = make_family("z_seconds", "Latency.", prometheus::MetricType::Histogram);
  const std::vector<double> bounds{0.5};
  const std::vector<std::uint64_t> counts{1, 1};
  histograms.metric.push_back(histogram_metric({{"impl", "a"}}, bounds, counts, 2.0));
  const auto text = prometheus::TextSerializer().Serialize({counters, gauges, histograms});
  EXPECT_NE(text.find("# TYPE x_total counter\nx_total{impl=\"a\"} 3"), std::string::npos) << text;
  EXPECT_NE(text.find("y 1.5"), std::string::npos) << text;
  EXPECT_NE(text.find("z_seconds_bucket{impl=\"a\",le=\"0.5\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("z_seconds_bucket{impl=\"a\",le=\"+Inf\"} 2"), std::string::npos) << text;
  EXPECT_NE(text.find("z_seconds_count{impl=\"a\"} 2"), std::string::npos) << text;
}

}  // namespace
}  // namespace tickrelay::observe
