#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace tickrelay::client {

// A high-dynamic-range histogram of latencies in nanoseconds: log-linear
// buckets (128 linear steps per power of two), so any value is known within
// 1/128 (< 1%) of itself, in fixed memory (about 35 KiB) from 1 ns to 18 min.
//
// One thread records; another may read at the same time (the metrics scrape,
// the live line) through merge_from(): every bucket is read and written with
// relaxed atomic accesses, which cost the recorder nothing on x86 and keep the
// concurrent read well defined. Recorders of several threads merge exactly.
class LatencyRecorder {
 public:
  // 128 sub-buckets per octave: the relative width of a bucket is at most
  // 1/128, which keeps every reported percentile within 1%.
  static constexpr int kSubBucketBits = 7;
  static constexpr std::uint64_t kSubBuckets = 1ull << kSubBucketBits;
  // Values from 2^40 ns (about 18 minutes) up are counted in the top bucket;
  // the exact maximum is still kept.
  static constexpr int kMaxBits = 40;
  static constexpr std::size_t kBucketCount = 2 * kSubBuckets + (kMaxBits - kSubBucketBits - 1) * kSubBuckets;

  LatencyRecorder();

  void record(std::uint64_t value_ns) {
    const std::size_t index = bucket_index(value_ns);
    bump(buckets_[index], 1);
    bump(count_, 1);
    bump(sum_, value_ns);
    if (value_ns < min_) store(min_, value_ns);
    if (value_ns > max_) store(max_, value_ns);
  }

  // Adds another recorder's observations; `other` may be recording on another
  // thread meanwhile.
  void merge_from(const LatencyRecorder& other);
  // This recorder minus an earlier snapshot of the same source: the
  // observations in between. Min and max become the bounds of the lowest and
  // highest occupied buckets.
  LatencyRecorder difference(const LatencyRecorder& earlier) const;
  void reset();

  std::uint64_t count() const { return load(count_); }
  std::uint64_t min() const;  // 0 when empty
  std::uint64_t max() const { return load(max_); }
  double mean() const;
  // The value below which `percentile` % of the observations fall (0..100),
  // within 1%; 0 when empty.
  std::uint64_t value_at_percentile(double percentile) const;

  // Observations at or below each bound (cumulative is not applied): counts[i]
  // gets those in (bounds[i-1], bounds[i]], counts[bounds.size()] the rest.
  // A bucket straddling a bound goes by its midpoint, so the split is exact
  // within the 1% resolution.
  void bucket_counts(std::span<const std::uint64_t> upper_bounds_ns, std::span<std::uint64_t> counts) const;
  std::uint64_t sum() const { return load(sum_); }

  static std::size_t bucket_index(std::uint64_t value);
  static std::uint64_t bucket_lower(std::size_t index);
  static std::uint64_t bucket_width(std::size_t index);

 private:
  // Single writer: a relaxed load and store, no read-modify-write.
  static void bump(std::uint64_t& cell, std::uint64_t by);
  static void store(std::uint64_t& cell, std::uint64_t value);
  static std::uint64_t load(const std::uint64_t& cell);

  std::vector<std::uint64_t> buckets_;
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
};

}  // namespace tickrelay::client
