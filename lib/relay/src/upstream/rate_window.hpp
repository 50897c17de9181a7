#pragma once
// At most `count` events in any `window` of time: the connection-rate limit
// Binance applies per IP (300 connections per 5 minutes). Pure: the caller
// passes the time.
#include <chrono>
#include <cstddef>
#include <deque>

namespace tickrelay::upstream {

class RateWindow {
 public:
  using Clock = std::chrono::steady_clock;

  RateWindow(std::size_t count, Clock::duration window) : count_(count), window_(window) {}

  // When the next event may happen (now, or later).
  Clock::time_point next_allowed(Clock::time_point now);
  // Records an event at `now`; the caller checked next_allowed first.
  void record(Clock::time_point now) { events_.push_back(now); }
  void configure(std::size_t count, Clock::duration window) {
    count_ = count;
    window_ = window;
  }

 private:
  std::size_t count_;
  Clock::duration window_;
  std::deque<Clock::time_point> events_;
};

}  // namespace tickrelay::upstream
