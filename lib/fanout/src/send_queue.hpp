#pragma once
// A client's outgoing frames, bounded in bytes. The queue holds references to
// shared frames, never copies; gather() lends everything pending to one
// scatter/gather write, and consume() retires what that write sent.
#include <cstddef>
#include <deque>
#include <vector>

#include <boost/asio/buffer.hpp>

#include "tickrelay/fanout/frame.hpp"

namespace tickrelay::fanout {

class SendQueue {
 public:
  explicit SendQueue(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  // False when the frame would take the queue past its bound: the caller
  // closes the client as a slow consumer; nothing was queued.
  bool push(fanout::FramePtr owner, boost::asio::const_buffer wire);
  // Queues regardless of the bound: control frames (pong, close) that must
  // go out even to a client being closed.
  void push_control(fanout::FramePtr owner, boost::asio::const_buffer wire);

  // Appends up to `max_items` pending (not yet in flight) buffers to `out`,
  // marks them in flight and returns how many were added.
  std::size_t gather(std::vector<boost::asio::const_buffer>& out, std::size_t max_items);
  // The in-flight items were written: retire them. Calls `each(frame)` for
  // each retired frame first (latency accounting).
  template <class Each>
  void consume(Each&& each);
  void consume() { consume([](const fanout::FramePtr&) {}); }

  // Drops every pending item that is not in flight (a client being closed
  // frees its backlog at once).
  void drop_pending();
  void set_max_bytes(std::size_t max_bytes) { max_bytes_ = max_bytes; }

  std::size_t bytes() const { return bytes_; }
  std::size_t size() const { return items_.size(); }
  std::size_t in_flight() const { return in_flight_; }
  bool has_pending() const { return items_.size() > in_flight_; }
  bool empty() const { return items_.empty(); }

 private:
  struct Item {
    fanout::FramePtr owner;
    boost::asio::const_buffer wire;
  };
  std::deque<Item> items_;
  std::size_t in_flight_ = 0;
  std::size_t bytes_ = 0;
  std::size_t max_bytes_;
};

template <class Each>
void SendQueue::consume(Each&& each) {
  for (; in_flight_ > 0; --in_flight_) {
    auto& item = items_.front();
    each(item.owner);
    bytes_ -= item.wire.size();
    items_.pop_front();
  }
}

}  // namespace tickrelay::fanout
