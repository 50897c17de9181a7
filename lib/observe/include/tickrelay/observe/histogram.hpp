#pragma once
// A fixed-bucket latency histogram in plain integers: the hot path observes,
// the metrics exporter reads it at scrape time. Buckets span 10 us to 10 s,
// the range between a loopback hop and a stalled link.
#include <algorithm>
#include <array>
#include <cstdint>

namespace tickrelay::observe {

class Histogram {
 public:
  static constexpr std::array<double, 19> kBounds = {1e-5,   2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2,
                                                     2.5e-2, 5e-2,   0.1,  0.25, 0.5,    1,    2.5,  5,      10};

  void observe(double seconds) {
    const auto it = std::lower_bound(kBounds.begin(), kBounds.end(), seconds);
    ++buckets_[static_cast<std::size_t>(it - kBounds.begin())];
    sum_ += seconds;
  }

  // Per-bucket (not cumulative) counts; the last is above 10 s.
  const std::array<std::uint64_t, kBounds.size() + 1>& buckets() const { return buckets_; }
  double sum() const { return sum_; }
  std::uint64_t count() const {
    std::uint64_t n = 0;
    for (auto b : buckets_) n += b;
    return n;
  }

 private:
  std::array<std::uint64_t, kBounds.size() + 1> buckets_{};
  double sum_ = 0;
};

}  // namespace tickrelay::observe
