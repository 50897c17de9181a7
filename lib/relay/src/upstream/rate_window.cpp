#include "upstream/rate_window.hpp"

#include <algorithm>

namespace tickrelay::upstream {

std::size_t RateWindow::used(Clock::time_point now) {
  while (!events_.empty() && events_.front().at + window_ <= now) {
    used_ -= events_.front().weight;
    events_.pop_front();
  }
  return used_;
}

RateWindow::Clock::time_point RateWindow::next_allowed(Clock::time_point now, std::size_t weight) {
  const std::size_t need = std::min(weight, count_);
  if (used(now) + need <= count_) return now;
  // The window frees weight as its oldest events age out: the first moment
  // enough of it has.
  std::size_t freed = 0;
  for (const auto& e : events_) {
    freed += e.weight;
    if (used_ - freed + need <= count_) return e.at + window_;
  }
  return events_.back().at + window_;
}

}  // namespace tickrelay::upstream
