#include "latency_recorder.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>

namespace tickrelay::client {

LatencyRecorder::LatencyRecorder() : buckets_(kBucketCount, 0) {}

void LatencyRecorder::bump(std::uint64_t& cell, std::uint64_t by) {
  std::atomic_ref<std::uint64_t> ref(cell);
  ref.store(ref.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

void LatencyRecorder::store(std::uint64_t& cell, std::uint64_t value) {
  std::atomic_ref<std::uint64_t>(cell).store(value, std::memory_order_relaxed);
}

std::uint64_t LatencyRecorder::load(const std::uint64_t& cell) {
  // atomic_ref<const T> arrives only in C++26; the reference is only read.
  return std::atomic_ref<std::uint64_t>(const_cast<std::uint64_t&>(cell)).load(std::memory_order_relaxed);
}

std::size_t LatencyRecorder::bucket_index(std::uint64_t value) {
  // Below 2 * kSubBuckets every value has its own bucket. Above, a value's
  // octave picks a group of kSubBuckets buckets and its top bits the one
  // inside the group.
  if (value < 2 * kSubBuckets) {
    return static_cast<std::size_t>(value);
  }
  const int msb = std::bit_width(value) - 1;
  if (msb >= kMaxBits) {
    return kBucketCount - 1;
  }
  const int shift = msb - kSubBucketBits;
  return static_cast<std::size_t>(2 * kSubBuckets + static_cast<std::uint64_t>(msb - kSubBucketBits - 1) * kSubBuckets +
                                  ((value >> shift) - kSubBuckets));
}

std::uint64_t LatencyRecorder::bucket_lower(std::size_t index) {
  if (index < 2 * kSubBuckets) {
    return index;
  }
  const std::uint64_t group = (index - 2 * kSubBuckets) / kSubBuckets;  // 0 for msb = kSubBucketBits + 1
  const std::uint64_t step = (index - 2 * kSubBuckets) % kSubBuckets;
  const int shift = static_cast<int>(group) + 1;
  return (kSubBuckets + step) << shift;
}

std::uint64_t LatencyRecorder::bucket_width(std::size_t index) {
  if (index < 2 * kSubBuckets) {
    return 1;
  }
  return 1ull << ((index - 2 * kSubBuckets) / kSubBuckets + 1);
}

void LatencyRecorder::merge_from(const LatencyRecorder& other) {
  for (std::size_t i = 0; i < kBucketCount; ++i) {
    buckets_[i] += load(other.buckets_[i]);
  }
  count_ += load(other.count_);
  sum_ += load(other.sum_);
  min_ = std::min(min_, load(other.min_));
  max_ = std::max(max_, load(other.max_));
}

LatencyRecorder LatencyRecorder::difference(const LatencyRecorder& earlier) const {
  LatencyRecorder delta;
  std::size_t lowest = kBucketCount;
  std::size_t highest = 0;
  for (std::size_t i = 0; i < kBucketCount; ++i) {
    const std::uint64_t now = load(buckets_[i]);
    const std::uint64_t then = load(earlier.buckets_[i]);
    delta.buckets_[i] = now > then ? now - then : 0;
    if (delta.buckets_[i] != 0) {
      lowest = std::min(lowest, i);
      highest = i;
    }
  }
  const std::uint64_t count = load(count_);
  const std::uint64_t earlier_count = load(earlier.count_);
  delta.count_ = count > earlier_count ? count - earlier_count : 0;
  const std::uint64_t sum = load(sum_);
  const std::uint64_t earlier_sum = load(earlier.sum_);
  delta.sum_ = sum > earlier_sum ? sum - earlier_sum : 0;
  if (lowest < kBucketCount) {
    delta.min_ = bucket_lower(lowest);
    delta.max_ = std::min(load(max_), bucket_lower(highest) + bucket_width(highest) - 1);
  }
  return delta;
}

void LatencyRecorder::reset() {
  std::fill(buckets_.begin(), buckets_.end(), 0);
  count_ = 0;
  sum_ = 0;
  min_ = UINT64_MAX;
  max_ = 0;
}

std::uint64_t LatencyRecorder::min() const {
  const std::uint64_t value = load(min_);
  return value == UINT64_MAX ? 0 : value;
}

double LatencyRecorder::mean() const {
  const std::uint64_t n = count();
  return n == 0 ? 0.0 : static_cast<double>(sum()) / static_cast<double>(n);
}

std::uint64_t LatencyRecorder::value_at_percentile(double percentile) const {
  const std::uint64_t n = count();
  if (n == 0) {
    return 0;
  }
  percentile = std::clamp(percentile, 0.0, 100.0);
  const auto rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(
                                                   std::ceil(percentile / 100.0 * static_cast<double>(n))));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBucketCount; ++i) {
    seen += load(buckets_[i]);
    if (seen >= rank) {
      // The top bucket also holds everything past the range: only the exact
      // maximum describes it.
      if (i == kBucketCount - 1 || rank == n) return max();
      // The midpoint halves the worst-case error of the bucket's width; the
      // exact extremes bound it so p0 and p100 are exact.
      const std::uint64_t mid = bucket_lower(i) + bucket_width(i) / 2;
      return std::clamp(mid, min(), max());
    }
  }
  return max();
}

void LatencyRecorder::bucket_counts(std::span<const std::uint64_t> upper_bounds_ns,
                                    std::span<std::uint64_t> counts) const {
  std::fill(counts.begin(), counts.end(), 0);
  std::size_t bound = 0;
  for (std::size_t i = 0; i < kBucketCount; ++i) {
    const std::uint64_t n = load(buckets_[i]);
    if (n == 0) continue;
    const std::uint64_t mid = bucket_lower(i) + bucket_width(i) / 2;
    while (bound < upper_bounds_ns.size() && mid > upper_bounds_ns[bound]) ++bound;
    counts[bound] += n;
  }
}

}  // namespace tickrelay::client
