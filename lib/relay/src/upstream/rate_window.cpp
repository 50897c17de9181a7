#include "upstream/rate_window.hpp"

namespace tickrelay::upstream {

RateWindow::Clock::time_point RateWindow::next_allowed(Clock::time_point now) {
  while (!events_.empty() && events_.front() + window_ <= now) events_.pop_front();
  if (events_.size() < count_) return now;
  // The window frees a slot when its oldest event of the last `count` ages out.
  return events_[events_.size() - count_] + window_;
}

}  // namespace tickrelay::upstream
