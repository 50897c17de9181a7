#pragma once
// Decides, per stream, whether an event read from some upstream connection is
// new (deliver it) or one already delivered (drop it): during a rotation the
// old and the new connection carry the same events. Also counts gaps in ids
// that grow by one per event. Pure: tested without sockets.
//
// Two connections' copies of a stream arrive in no fixed order. A
// connection that joins a stream late may show event N+1 before the stream's
// current owner has shown N; delivering it would skip N for good. So an
// event from another connection than the owner (the one that delivered
// last) passes the delivered ones only when that connection's previous
// event was delivered already: each connection carries the stream without
// a hole, so nothing lies between. When the owner ends, the next connection
// to deliver takes the stream over.
#include <array>
#include <cstdint>
#include <vector>

#include "tickrelay/fanout/frame.hpp"
#include "tickrelay/fanout/stream_name.hpp"

namespace tickrelay::upstream {

struct EventKey {
  std::int64_t event_time = 0;  // E; 0 when the event has none
  std::int64_t sequence = -1;   // t, a or u; -1 when none
  bool comparable() const { return event_time != 0 || sequence >= 0; }
};

class StreamSequencer {
 public:
  enum class Verdict { deliver, duplicate };

  // `connection` identifies the upstream connection (any unique number).
  // `gap_id`: the id that must grow by one (trade t, aggTrade a), or -1.
  // `gaps` is incremented when that id jumps.
  Verdict observe(fanout::StreamId stream, std::uint64_t connection, EventKey key, std::int64_t gap_id,
                  std::uint64_t& gaps);

  // Streams whose events carry no key follow one connection at a time; when
  // it ends, the next connection to deliver takes over.
  void connection_closed(std::uint64_t connection);

  // True when every stream `from` owns is one `to` also carries from a
  // point already delivered: closing `from` then loses nothing.
  bool handed_over(std::uint64_t from, std::uint64_t to) const;

 private:
  struct State {
    EventKey last;
    std::uint64_t owner = 0;  // 0: none
    std::int64_t last_gap_id = -1;
    // Other connections seen on the stream and their latest key there.
    struct Seen {
      std::uint64_t connection = 0;  // 0: free
      EventKey latest;               // not comparable until one is seen
    };
    std::array<Seen, 3> others{};
    Seen* seen(std::uint64_t connection);
    // `connection`'s latest event of the stream is at or before the last
    // delivered one: its next one follows what was delivered.
    bool caught_up(std::uint64_t connection) const;
  };
  std::vector<State> states_;
};

}  // namespace tickrelay::upstream
