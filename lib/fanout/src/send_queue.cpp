#include "send_queue.hpp"

#include <algorithm>

namespace tickrelay::fanout {

SendQueue::PushResult SendQueue::push(fanout::FramePtr owner, boost::asio::const_buffer wire) {
  if (bytes_ + wire.size() > max_bytes_) return PushResult::over_bound;
  add(std::move(owner), wire);
  return PushResult::queued;
}

void SendQueue::push_control(fanout::FramePtr owner, boost::asio::const_buffer wire) { add(std::move(owner), wire); }

void SendQueue::add(fanout::FramePtr owner, boost::asio::const_buffer wire) {
  bytes_ += wire.size();
  gauge_ += wire.size();
  items_.push_back(Item{std::move(owner), wire});
}

std::size_t SendQueue::gather(std::vector<boost::asio::const_buffer>& out, std::size_t max_items) {
  std::size_t added = 0;
  for (std::size_t i = in_flight_; i < items_.size() && added < max_items; ++i, ++added) {
    out.push_back(items_[i].wire);
  }
  in_flight_ += added;
  return added;
}

void SendQueue::drop_pending() {
  std::size_t dropped = 0;
  while (items_.size() > in_flight_) {
    dropped += items_.back().wire.size();
    items_.pop_back();
  }
  remove_bytes(dropped);
}

void SendQueue::drop_pending_data() {
  std::size_t dropped = 0;
  const auto kept = std::remove_if(items_.begin() + static_cast<std::ptrdiff_t>(in_flight_), items_.end(),
                                   [&](const Item& item) {
                                     if (item.owner->stream() == kNoStream) return false;
                                     dropped += item.wire.size();
                                     return true;
                                   });
  items_.erase(kept, items_.end());
  remove_bytes(dropped);
}

}  // namespace tickrelay::fanout
