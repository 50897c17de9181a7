#include "tickrelay/observe/histogram.hpp"

#include <gtest/gtest.h>

#include <numeric>

namespace tickrelay::observe {
namespace {

std::size_t bucket_of(double seconds) {
  Histogram h;
  h.observe(seconds);
  const auto& b = h.buckets();
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (b[i] == 1) return i;
  }
  ADD_FAILURE() << "no bucket for " << seconds;
  return b.size();
}

TEST(Histogram, StartsEmpty) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.sum(), 0.0);
  for (auto b : h.buckets()) EXPECT_EQ(b, 0u);
  EXPECT_EQ(h.buckets().size(), Histogram::kBounds.size() + 1);
}

TEST(Histogram, BoundsAscend) {
  for (std::size_t i = 1; i < Histogram::kBounds.size(); ++i)
    EXPECT_LT(Histogram::kBounds[i - 1], Histogram::kBounds[i]);
  EXPECT_DOUBLE_EQ(Histogram::kBounds.front(), 1e-5);
  EXPECT_DOUBLE_EQ(Histogram::kBounds.back(), 10);
}

TEST(Histogram, UpperBoundIsInclusive) {
  // Prometheus `le`: a value equal to a bound belongs to that bound's bucket.
  for (std::size_t i = 0; i < Histogram::kBounds.size(); ++i) {
    EXPECT_EQ(bucket_of(Histogram::kBounds[i]), i) << Histogram::kBounds[i];
  }
}

TEST(Histogram, JustAboveABoundGoesToTheNextBucket) {
  for (std::size_t i = 0; i + 1 < Histogram::kBounds.size(); ++i) {
    const double v = Histogram::kBounds[i] * 1.0001;
    EXPECT_EQ(bucket_of(v), i + 1) << v;
  }
}

TEST(Histogram, SmallValuesGoToTheFirstBucket) {
  EXPECT_EQ(bucket_of(0), 0u);
  EXPECT_EQ(bucket_of(1e-9), 0u);
  EXPECT_EQ(bucket_of(9.99e-6), 0u);
}

TEST(Histogram, AboveTheLastBoundIsTheInfBucket) {
  const auto inf_bucket = Histogram::kBounds.size();
  EXPECT_EQ(bucket_of(10.000001), inf_bucket);
  EXPECT_EQ(bucket_of(3600), inf_bucket);
  EXPECT_EQ(bucket_of(10), inf_bucket - 1);
}

TEST(Histogram, SumAndCount) {
  Histogram h;
  h.observe(0.001);
  h.observe(0.002);
  h.observe(0.5);
  h.observe(20);
  EXPECT_EQ(h.count(), 4u);
  EXPECT_DOUBLE_EQ(h.sum(), 20.503);
  const auto& b = h.buckets();
  EXPECT_EQ(std::accumulate(b.begin(), b.end(), std::uint64_t{0}), 4u);
  EXPECT_EQ(b[6], 1u);   // 0.001 <= 1e-3
  EXPECT_EQ(b[7], 1u);   // 0.002 <= 2.5e-3
  EXPECT_EQ(b[14], 1u);  // 0.5 <= 0.5
  EXPECT_EQ(b[19], 1u);  // +Inf
}

TEST(Histogram, BucketsAreNotCumulative) {
  Histogram h;
  for (int i = 0; i < 5; ++i) h.observe(0.3);
  const auto& b = h.buckets();
  EXPECT_EQ(b[14], 5u);  // 0.25 < 0.3 <= 0.5
  EXPECT_EQ(b[15], 0u);
  EXPECT_EQ(b[19], 0u);
  EXPECT_EQ(h.count(), 5u);
}

}  // namespace
}  // namespace tickrelay::observe
