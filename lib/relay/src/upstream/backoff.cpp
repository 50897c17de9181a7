#include "upstream/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace tickrelay::upstream {

Backoff::Backoff(double base_seconds, double cap_seconds, std::function<double()> uniform)
    : base_(base_seconds), cap_(cap_seconds), uniform_(std::move(uniform)) {}

double Backoff::ceiling() const {
  // 2^attempt overflows nothing below the cap: stop doubling at 62.
  return std::min(cap_, base_ * std::ldexp(1.0, static_cast<int>(std::min(attempt_, 62u))));
}

double Backoff::next() {
  const double delay = uniform_() * ceiling();
  ++attempt_;
  return delay;
}

void Backoff::configure(double base_seconds, double cap_seconds) {
  base_ = base_seconds;
  cap_ = cap_seconds;
}

}  // namespace tickrelay::upstream
