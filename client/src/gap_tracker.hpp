#pragma once
#include <cstdint>
#include <vector>

namespace tickrelay::client {

// Sequence checking for one connection: per stream, the ids that must grow by
// one per event (trade `t`, aggTrade `a`, the simulator's kline `k.L`).
// 16 bytes per stream seen, so 10,000 connections with hundreds of streams
// each stay in tens of megabytes.
class GapTracker {
 public:
  struct Outcome {
    std::uint64_t missing = 0;  // ids skipped before this one (messages lost)
    bool duplicate = false;     // id repeated or went backwards
    bool first = false;         // the first id seen on this stream
  };

  // `stream` identifies the stream on this connection (symbol, event kind,
  // interval); `id` is the event's sequence id.
  Outcome observe(std::uint64_t stream, std::uint64_t id);
  // Forgets every stream: a new connection starts new sequences.
  void reset();
  std::size_t streams() const { return entries_.size(); }

 private:
  struct Entry {
    std::uint64_t stream;
    std::uint64_t last_id;
  };
  // Sorted by stream; most connections carry few streams, and a binary search
  // over a flat array beats a hash map's per-node memory at this size.
  std::vector<Entry> entries_;
  // Consecutive events usually come from the stream seen last.
  std::size_t last_hit_ = 0;
};

}  // namespace tickrelay::client
