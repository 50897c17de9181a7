#include "event_pacer.hpp"

#include <algorithm>

namespace tickrelay::sim {
namespace {

constexpr std::uint64_t kUsPerSecond = 1'000'000;

std::uint64_t cap_for(std::uint64_t rate, Micros max_backlog) {
  const auto backlog_us = static_cast<std::uint64_t>(std::max<Micros::rep>(0, max_backlog.count()));
  const std::uint64_t cap = backlog_us / kUsPerSecond * rate + backlog_us % kUsPerSecond * rate / kUsPerSecond;
  return std::max<std::uint64_t>(1, cap);
}

}  // namespace

EventPacer::EventPacer(std::uint64_t rate, Micros max_backlog)
    : rate_(rate), max_backlog_(max_backlog), cap_(cap_for(rate, max_backlog)) {}

void EventPacer::restart(Clock::time_point now) {
  anchor_ = now;
  anchored_ = true;
  taken_ = 0;
}

void EventPacer::set_rate(std::uint64_t rate, Clock::time_point now) {
  rate_ = rate;
  cap_ = cap_for(rate, max_backlog_);
  restart(now);
}

bool EventPacer::add_stream(StreamId stream, Clock::time_point now) {
  if (std::find(ring_.begin(), ring_.end(), stream) != ring_.end()) return false;
  if (ring_.empty()) restart(now);
  ring_.push_back(stream);
  return true;
}

bool EventPacer::remove_stream(StreamId stream) {
  const auto it = std::find(ring_.begin(), ring_.end(), stream);
  if (it == ring_.end()) return false;
  const auto index = static_cast<std::size_t>(it - ring_.begin());
  ring_.erase(it);
  // Keep pointing at the stream that was next, so nobody loses a turn.
  if (index < cursor_) --cursor_;
  if (cursor_ >= ring_.size()) cursor_ = 0;
  return true;
}

// floor(elapsed × rate / 1 s), split so it cannot overflow for any uptime.
std::uint64_t EventPacer::due_since_anchor(Clock::time_point now) const {
  const auto elapsed = std::chrono::duration_cast<Micros>(now - anchor_).count();
  if (elapsed <= 0) return 0;
  const auto us = static_cast<std::uint64_t>(elapsed);
  return us / kUsPerSecond * rate_ + us % kUsPerSecond * rate_ / kUsPerSecond;
}

std::uint64_t EventPacer::take_due(Clock::time_point now) {
  if (rate_ == 0 || ring_.empty() || !anchored_) {
    // Idle time is not owed: the schedule starts over when there is work.
    restart(now);
    return 0;
  }
  const std::uint64_t due = due_since_anchor(now);
  if (due <= taken_) return 0;
  std::uint64_t pending = due - taken_;
  if (pending > cap_) {
    dropped_ += pending - cap_;
    pending = cap_;
  }
  // Dropped events count as taken: the schedule moves on past them.
  taken_ = due;
  emitted_total_ += pending;
  return pending;
}

StreamId EventPacer::next_stream() {
  const StreamId stream = ring_[cursor_];
  if (++cursor_ >= ring_.size()) cursor_ = 0;
  return stream;
}

Clock::time_point EventPacer::next_due() const {
  if (rate_ == 0 || ring_.empty() || !anchored_) return Clock::time_point::max();
  // Event taken_+1 is due at anchor + ceil((taken_+1) / rate) seconds.
  const std::uint64_t k = taken_ + 1;
  const std::uint64_t whole = k / rate_;
  const std::uint64_t part = (k % rate_ * kUsPerSecond + rate_ - 1) / rate_;
  return anchor_ + Micros{static_cast<Micros::rep>(whole * kUsPerSecond + part)};
}

}  // namespace tickrelay::sim
