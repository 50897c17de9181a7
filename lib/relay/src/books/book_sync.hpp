#pragma once
// Keeps one order book in step with Binance: buffer the diff-depth events,
// take a REST snapshot, drop what it already holds, apply the rest, and
// start over from a new snapshot whenever the ids show a hole. The rules
// differ by product (config/README.md, `books`):
//   spot:    after a snapshot at L, the first event applied has U <= L+1 <= u;
//            every later one has U == the previous u + 1.
//   futures: the first event applied has U <= L <= u; every later one has
//            pu == the previous u.
// Pure: no I/O, tested event by event.
#include <cstddef>
#include <cstdint>
#include <deque>

#include "books/depth_message.hpp"
#include "books/order_book.hpp"

namespace tickrelay::books {

enum class BookRule { spot, futures };

enum class ResyncReason : std::uint8_t {
  gap,              // the ids of two events do not follow
  stale_snapshot,   // the snapshot is older than the first buffered event
  buffer_overflow,  // too many events waited for a snapshot
  count_
};
inline constexpr std::size_t kResyncReasonCount = static_cast<std::size_t>(ResyncReason::count_);
const char* resync_reason_label(ResyncReason reason);

class BookSync {
 public:
  enum class State { waiting, synced };

  BookSync(BookRule rule, std::size_t max_levels, std::size_t max_buffered)
      : rule_(rule), book_(max_levels), max_buffered_(max_buffered) {}

  // An event of the book's stream. Returns true when the book needs a
  // snapshot it has not asked for yet (the caller requests one and calls
  // snapshot_requested()).
  bool on_update(DepthUpdate update);
  void snapshot_requested() { requested_ = true; }
  // The snapshot asked for; returns true when another one is needed.
  bool on_snapshot(const DepthSnapshot& snapshot);
  // The request failed: the book keeps buffering; returns true (ask again).
  bool on_snapshot_failed();

  State state() const { return state_; }
  bool synced() const { return state_ == State::synced; }
  bool awaiting_snapshot() const { return requested_; }
  const OrderBook& book() const { return book_; }
  std::size_t buffered() const { return buffer_.size(); }
  // The last applied event's E and T (futures answers carry them).
  std::int64_t event_time() const { return event_time_; }
  std::int64_t transaction_time() const { return transaction_time_; }
  const std::uint64_t* resyncs() const { return resyncs_; }

 private:
  // Whether `update` follows the book's last applied event.
  bool follows(const DepthUpdate& update) const;
  void apply(const DepthUpdate& update);
  // Back to waiting with the book emptied; true when a snapshot is needed.
  bool restart(ResyncReason reason);

  BookRule rule_;
  OrderBook book_;
  std::size_t max_buffered_;
  State state_ = State::waiting;
  bool requested_ = false;
  bool applied_since_snapshot_ = false;
  std::int64_t previous_final_id_ = -1;
  std::int64_t event_time_ = 0;
  std::int64_t transaction_time_ = 0;
  std::deque<DepthUpdate> buffer_;
  std::uint64_t resyncs_[kResyncReasonCount] = {};
};

}  // namespace tickrelay::books
