#pragma once
// At most `count` events (or units of weight) in any `window` of time: the
// connection-rate limit Binance applies per IP (300 connections per 5
// minutes), and the REST request weight (6000 per minute on spot). Pure: the
// caller passes the time.
#include <chrono>
#include <cstddef>
#include <deque>

namespace tickrelay::upstream {

class RateWindow {
 public:
  using Clock = std::chrono::steady_clock;

  RateWindow(std::size_t count, Clock::duration window) : count_(count), window_(window) {}

  // When the next event of `weight` may happen (now, or later). An event
  // heavier than the whole window waits for the window to empty.
  Clock::time_point next_allowed(Clock::time_point now, std::size_t weight = 1);
  // Records an event at `now`; the caller checked next_allowed first.
  void record(Clock::time_point now, std::size_t weight = 1) {
    events_.push_back({now, weight});
    used_ += weight;
  }
  // The weight recorded within the window before `now`.
  std::size_t used(Clock::time_point now);
  bool idle(Clock::time_point now) { return used(now) == 0; }
  void configure(std::size_t count, Clock::duration window) {
    count_ = count;
    window_ = window;
  }

 private:
  std::size_t count_;
  Clock::duration window_;
  struct Event {
    Clock::time_point at;
    std::size_t weight;
  };
  std::deque<Event> events_;
  std::size_t used_ = 0;
};

}  // namespace tickrelay::upstream
