#pragma once
// A client's outgoing frames, bounded in bytes. The queue holds references to
// shared frames, never copies; gather() lends everything pending to one
// scatter/gather write, and consume() retires what that write sent.
//
// The queue keeps the all-clients gauge (client_queue_bytes) itself: every
// byte it takes, retires or drops, and what it holds when destroyed, moves
// the gauge with it, so no caller can let the two drift apart.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include <boost/asio/buffer.hpp>

#include "tickrelay/fanout/frame.hpp"

namespace tickrelay::fanout {

class SendQueue {
 public:
  enum class PushResult : std::uint8_t {
    queued,
    over_bound,  // nothing was queued: the caller closes the client as a slow consumer
  };

  // `gauge` is shared by every client's queue and must outlive this one.
  SendQueue(std::size_t max_bytes, std::uint64_t& gauge) : max_bytes_(max_bytes), gauge_(gauge) {}
  ~SendQueue() { gauge_ -= bytes_; }
  SendQueue(const SendQueue&) = delete;
  SendQueue& operator=(const SendQueue&) = delete;

  PushResult push(fanout::FramePtr owner, boost::asio::const_buffer wire);
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
  void consume() {
    consume([](const fanout::FramePtr&) {});
  }

  // Drops every pending item that is not in flight (a client being closed
  // frees its backlog at once).
  void drop_pending();
  // Drops the pending data frames only (those of a stream), keeping our own
  // and the library's control frames: a close reply still goes out.
  void drop_pending_data();
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
  void add(fanout::FramePtr owner, boost::asio::const_buffer wire);
  void remove_bytes(std::size_t n) {
    bytes_ -= n;
    gauge_ -= n;
  }

  std::deque<Item> items_;
  std::size_t in_flight_ = 0;
  std::size_t bytes_ = 0;
  std::size_t max_bytes_;
  std::uint64_t& gauge_;
};

template <class Each>
void SendQueue::consume(Each&& each) {
  std::size_t retired = 0;
  for (; in_flight_ > 0; --in_flight_) {
    auto& item = items_.front();
    each(item.owner);
    retired += item.wire.size();
    items_.pop_front();
  }
  remove_bytes(retired);
}

}  // namespace tickrelay::fanout
