#include "send_queue.hpp"

namespace tickrelay::fanout {

bool SendQueue::push(fanout::FramePtr owner, boost::asio::const_buffer wire) {
  if (bytes_ + wire.size() > max_bytes_) return false;
  bytes_ += wire.size();
  items_.push_back(Item{std::move(owner), wire});
  return true;
}

void SendQueue::push_control(fanout::FramePtr owner, boost::asio::const_buffer wire) {
  bytes_ += wire.size();
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
  while (items_.size() > in_flight_) {
    bytes_ -= items_.back().wire.size();
    items_.pop_back();
  }
}

}  // namespace tickrelay::fanout
