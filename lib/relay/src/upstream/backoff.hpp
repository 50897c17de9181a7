#pragma once
// Reconnect delays: exponential growth with full jitter (a uniform draw
// between zero and base * 2^attempt, capped), so shards that failed together
// do not reconnect together. The random source is injected for tests.
#include <cstdint>
#include <functional>

namespace tickrelay::upstream {

class Backoff {
 public:
  // `uniform` returns a value in [0, 1).
  Backoff(double base_seconds, double cap_seconds, std::function<double()> uniform);

  // The delay before the next attempt; each call counts one failure.
  double next();
  // A connection that delivered data resets the growth.
  void reset() { attempt_ = 0; }
  unsigned attempt() const { return attempt_; }
  // The ceiling the next draw is taken under (for logs and tests).
  double ceiling() const;
  void configure(double base_seconds, double cap_seconds);

 private:
  double base_;
  double cap_;
  std::function<double()> uniform_;
  unsigned attempt_ = 0;
};

}  // namespace tickrelay::upstream
