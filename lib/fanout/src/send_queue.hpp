#pragma once
// A client's outgoing frames, bounded in bytes. The queue holds references to
// shared frames, never copies; gather() lends what is pending to one
// scatter/gather write, and consume() retires what that write sent, whole
// frames or the first part of one (a short write on a full socket).
//
// The queue keeps the all-clients gauge (client_queue_bytes) itself: every
// byte it takes, retires or drops, and what it holds when destroyed, moves
// the gauge with it, so no caller can let the two drift apart.
//
// Storage is a vector used from a moving head: an idle client's queue holds
// no allocation, and a burst's capacity is given back once it is written.
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <utility>
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

  // `queued_at`: when the frame joined the queue (its age is the client's lag).
  PushResult push(FramePtr owner, boost::asio::const_buffer wire, Clock::time_point queued_at = {});
  // Queues regardless of the bound: control frames (pong, close) that must
  // go out even to a client being closed.
  void push_control(FramePtr owner, boost::asio::const_buffer wire, Clock::time_point queued_at = {});

  // Lends up to `max_items` pending buffers (the unwritten rest of a frame
  // first) to one write: calls `out(const_buffer)` for each, marks them lent
  // and returns how many.
  template <class Out>
  std::size_t gather(Out&& out, std::size_t max_items);
  std::size_t gather(std::vector<boost::asio::const_buffer>& out, std::size_t max_items) {
    return gather([&](boost::asio::const_buffer b) { out.push_back(b); }, max_items);
  }
  // The write of what was lent ended having sent `bytes`: whole frames are
  // retired (`each(frame)` is called for each first: latency accounting),
  // a frame sent in part keeps its rest first in line, and whatever was not
  // sent is pending again.
  template <class Each>
  void consume(std::size_t bytes, Each&& each);
  // Everything lent was written.
  template <class Each>
  requires std::invocable<Each, const FramePtr&>
  void consume(Each&& each) { consume(lent_bytes_, std::forward<Each>(each)); }
  void consume() {
    consume(lent_bytes_, [](const FramePtr&) {});
  }

  // Drops every pending frame not lent to a write and not begun on the wire
  // (a client being closed frees its backlog at once; a frame half written
  // stays, so the stream of frames stays whole).
  void drop_pending();
  // Drops the pending data frames only (those of a stream), keeping our own
  // and the library's control frames: a close reply still goes out.
  void drop_pending_data();
  void set_max_bytes(std::size_t max_bytes) { max_bytes_ = max_bytes; }

  std::size_t bytes() const { return bytes_; }
  std::size_t size() const { return items_.size() - head_; }
  std::size_t in_flight() const { return lent_; }
  bool has_pending() const { return size() > lent_; }
  bool empty() const { return size() == 0; }
  // When the oldest frame still queued joined; the queue must not be empty.
  Clock::time_point oldest() const { return items_[head_].queued_at; }

 private:
  struct Item {
    fanout::FramePtr owner;
    boost::asio::const_buffer wire;
    Clock::time_point queued_at;
  };
  void add(fanout::FramePtr owner, boost::asio::const_buffer wire, Clock::time_point queued_at);
  void remove_bytes(std::size_t n) {
    bytes_ -= n;
    gauge_ -= n;
  }
  // Items the drops must keep: those lent, or the first one when it is
  // partly written.
  std::size_t kept() const { return lent_ > 0 ? lent_ : (front_sent_ > 0 ? 1 : 0); }
  void pop_front();

  std::vector<Item> items_;
  std::size_t head_ = 0;        // items_[head_] is the first queued
  std::size_t front_sent_ = 0;  // bytes of the first one already written
  std::size_t lent_ = 0;        // items lent to the write under way
  std::size_t lent_bytes_ = 0;
  std::size_t bytes_ = 0;
  std::size_t max_bytes_;
  std::uint64_t& gauge_;
};

template <class Out>
std::size_t SendQueue::gather(Out&& out, std::size_t max_items) {
  std::size_t added = 0;
  for (std::size_t i = head_ + lent_; i < items_.size() && added < max_items; ++i, ++added) {
    auto wire = items_[i].wire;
    if (i == head_) wire += front_sent_;
    lent_bytes_ += wire.size();
    out(wire);
  }
  lent_ += added;
  return added;
}

template <class Each>
void SendQueue::consume(std::size_t bytes, Each&& each) {
  std::size_t retired = 0;
  while (bytes > 0 && head_ < items_.size()) {
    auto& item = items_[head_];
    const std::size_t rest = item.wire.size() - front_sent_;
    if (bytes < rest) {
      front_sent_ += bytes;
      retired += bytes;
      break;
    }
    bytes -= rest;
    retired += rest;
    each(item.owner);
    pop_front();
  }
  lent_ = 0;
  lent_bytes_ = 0;
  remove_bytes(retired);
}

}  // namespace tickrelay::fanout
