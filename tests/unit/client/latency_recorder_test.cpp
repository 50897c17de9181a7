#include "latency_recorder.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>
#include <vector>

namespace tickrelay::client {
namespace {

// The exact percentile of a sorted sample, by the same rank rule
// (the smallest value with at least p% of the samples at or below it).
std::uint64_t exact_percentile(const std::vector<std::uint64_t>& sorted, double p) {
  const auto rank = std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(p / 100.0 * double(sorted.size()))));
  return sorted[rank - 1];
}

void expect_within_one_percent(const LatencyRecorder& recorder, std::vector<std::uint64_t> values) {
  std::sort(values.begin(), values.end());
  for (double p : {1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    const double exact = double(exact_percentile(values, p));
    const double estimate = double(recorder.value_at_percentile(p));
    EXPECT_LE(std::fabs(estimate - exact), exact * 0.01) << "p" << p << " exact " << exact << " estimate " << estimate;
  }
  EXPECT_EQ(recorder.count(), values.size());
  EXPECT_EQ(recorder.min(), values.front());
  EXPECT_EQ(recorder.max(), values.back());
}

TEST(LatencyRecorder, UniformDistributionPercentilesWithinOnePercent) {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<std::uint64_t> dist(10'000, 50'000'000);  // 10 µs to 50 ms
  LatencyRecorder recorder;
  std::vector<std::uint64_t> values;
  for (int i = 0; i < 200'000; ++i) {
    values.push_back(dist(rng));
    recorder.record(values.back());
  }
  expect_within_one_percent(recorder, values);
}

TEST(LatencyRecorder, ExponentialDistributionPercentilesWithinOnePercent) {
  std::mt19937_64 rng(7);
  std::exponential_distribution<double> dist(1.0 / 250'000.0);  // mean 250 µs, long tail
  LatencyRecorder recorder;
  std::vector<std::uint64_t> values;
  for (int i = 0; i < 200'000; ++i) {
    values.push_back(static_cast<std::uint64_t>(dist(rng)) + 1);
    recorder.record(values.back());
  }
  expect_within_one_percent(recorder, values);
  double sum = 0;
  for (auto v : values) sum += double(v);
  EXPECT_NEAR(recorder.mean(), sum / double(values.size()), 1e-6 * sum / double(values.size()));
}

TEST(LatencyRecorder, SmallValuesAreExact) {
  LatencyRecorder recorder;
  for (std::uint64_t v = 0; v < 256; ++v) recorder.record(v);
  EXPECT_EQ(recorder.value_at_percentile(50), 127u);
  EXPECT_EQ(recorder.value_at_percentile(100), 255u);
  EXPECT_EQ(recorder.min(), 0u);
}

TEST(LatencyRecorder, BucketsTileTheRangeWithoutGaps) {
  for (std::size_t i = 0; i + 1 < LatencyRecorder::kBucketCount; ++i) {
    ASSERT_EQ(LatencyRecorder::bucket_lower(i) + LatencyRecorder::bucket_width(i), LatencyRecorder::bucket_lower(i + 1))
        << i;
    ASSERT_EQ(LatencyRecorder::bucket_index(LatencyRecorder::bucket_lower(i)), i);
    // Relative width at most 1/128 past the exact range.
    if (LatencyRecorder::bucket_lower(i) >= 256) {
      ASSERT_LE(double(LatencyRecorder::bucket_width(i)) / double(LatencyRecorder::bucket_lower(i)), 1.0 / 128 + 1e-12);
    }
  }
}

TEST(LatencyRecorder, HugeValuesLandInTheTopBucketAndKeepTheExactMax) {
  LatencyRecorder recorder;
  recorder.record(1);
  recorder.record(1ull << 50);
  EXPECT_EQ(recorder.max(), 1ull << 50);
  EXPECT_EQ(recorder.value_at_percentile(100), 1ull << 50);
}

TEST(LatencyRecorder, MergeEqualsRecordingEverythingInOne) {
  std::mt19937_64 rng(3);
  std::uniform_int_distribution<std::uint64_t> dist(1, 1'000'000'000);
  LatencyRecorder a, b, all;
  for (int i = 0; i < 10'000; ++i) {
    const auto v = dist(rng);
    (i % 3 == 0 ? a : b).record(v);
    all.record(v);
  }
  LatencyRecorder merged;
  merged.merge_from(a);
  merged.merge_from(b);
  EXPECT_EQ(merged.count(), all.count());
  EXPECT_EQ(merged.sum(), all.sum());
  EXPECT_EQ(merged.min(), all.min());
  EXPECT_EQ(merged.max(), all.max());
  for (double p : {50.0, 90.0, 99.0, 99.9}) EXPECT_EQ(merged.value_at_percentile(p), all.value_at_percentile(p));
}

TEST(LatencyRecorder, DifferenceHoldsOnlyTheNewObservations) {
  LatencyRecorder recorder;
  for (int i = 0; i < 1000; ++i) recorder.record(1'000);
  LatencyRecorder earlier;
  earlier.merge_from(recorder);
  for (int i = 0; i < 1000; ++i) recorder.record(5'000'000);
  const LatencyRecorder delta = recorder.difference(earlier);
  EXPECT_EQ(delta.count(), 1000u);
  EXPECT_NEAR(double(delta.value_at_percentile(50)), 5e6, 5e4);
  EXPECT_NEAR(double(delta.value_at_percentile(1)), 5e6, 5e4);
}

TEST(LatencyRecorder, MergeWhileRecordingOnAnotherThreadSeesAConsistentPrefix) {
  LatencyRecorder recorder;
  std::thread writer([&] {
    for (int i = 0; i < 200'000; ++i) recorder.record(static_cast<std::uint64_t>(i % 1000) * 1000);
  });
  for (int i = 0; i < 50; ++i) {
    LatencyRecorder snapshot;
    snapshot.merge_from(recorder);
    EXPECT_LE(snapshot.count(), 200'000u);
  }
  writer.join();
  LatencyRecorder final_snapshot;
  final_snapshot.merge_from(recorder);
  EXPECT_EQ(final_snapshot.count(), 200'000u);
}

TEST(LatencyRecorder, BucketCountsSplitAtTheBounds) {
  LatencyRecorder recorder;
  for (int i = 0; i < 10; ++i) recorder.record(5'000);              // 5 µs
  for (int i = 0; i < 20; ++i) recorder.record(500'000);            // 0.5 ms
  for (int i = 0; i < 30; ++i) recorder.record(20'000'000'000ull);  // 20 s
  const std::vector<std::uint64_t> bounds{10'000, 1'000'000, 10'000'000'000ull};
  std::vector<std::uint64_t> counts(bounds.size() + 1);
  recorder.bucket_counts(bounds, counts);
  EXPECT_EQ(counts, (std::vector<std::uint64_t>{10, 20, 0, 30}));
}

TEST(LatencyRecorder, EmptyRecorderReportsZeros) {
  LatencyRecorder recorder;
  EXPECT_EQ(recorder.count(), 0u);
  EXPECT_EQ(recorder.value_at_percentile(99), 0u);
  EXPECT_EQ(recorder.min(), 0u);
  EXPECT_EQ(recorder.mean(), 0.0);
}

}  // namespace
}  // namespace tickrelay::client
