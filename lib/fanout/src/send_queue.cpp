#include "send_queue.hpp"

#include <algorithm>

namespace tickrelay::fanout {
namespace {

// A written queue keeps this many slots; a larger burst's are given back.
constexpr std::size_t kKeptCapacity = 64;

}  // namespace

SendQueue::PushResult SendQueue::push(fanout::FramePtr owner, boost::asio::const_buffer wire,
                                      Clock::time_point queued_at) {
  if (bytes_ + wire.size() > max_bytes_) return PushResult::over_bound;
  add(std::move(owner), wire, queued_at);
  return PushResult::queued;
}

void SendQueue::push_control(fanout::FramePtr owner, boost::asio::const_buffer wire, Clock::time_point queued_at) {
  add(std::move(owner), wire, queued_at);
}

void SendQueue::add(fanout::FramePtr owner, boost::asio::const_buffer wire, Clock::time_point queued_at) {
  bytes_ += wire.size();
  gauge_ += wire.size();
  items_.push_back(Item{std::move(owner), wire, queued_at});
}

void SendQueue::pop_front() {
  items_[head_].owner.reset();
  front_sent_ = 0;
  if (++head_ == items_.size()) {
    head_ = 0;
    items_.clear();
    if (items_.capacity() > kKeptCapacity) std::vector<Item>().swap(items_);
  } else if (head_ >= kKeptCapacity && head_ * 2 >= items_.size()) {
    // The written front is as long as what is left: move the rest down.
    items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
}

void SendQueue::drop_pending() {
  const std::size_t keep = head_ + kept();
  std::size_t dropped = 0;
  while (items_.size() > keep) {
    dropped += items_.back().wire.size();
    items_.pop_back();
  }
  if (items_.size() == head_) {
    head_ = 0;
    items_.clear();
  }
  remove_bytes(dropped);
}

void SendQueue::drop_pending_data() {
  std::size_t dropped = 0;
  const auto kept_end = items_.begin() + static_cast<std::ptrdiff_t>(head_ + kept());
  const auto end = std::remove_if(kept_end, items_.end(), [&](const Item& item) {
    if (item.owner->stream() == kNoStream) return false;
    dropped += item.wire.size();
    return true;
  });
  items_.erase(end, items_.end());
  if (items_.size() == head_) {
    head_ = 0;
    items_.clear();
  }
  remove_bytes(dropped);
}

}  // namespace tickrelay::fanout
