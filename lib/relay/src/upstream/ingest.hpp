#pragma once
// One upstream message in: parse it (no DOM), drop what another connection
// already delivered (rotation overlap), measure its lag, and publish it to
// the router as one shared frame. Shared by every shard, so de-duplication
// sees all connections; no sockets, so it is tested with plain strings.
#include <chrono>
#include <cstdint>

#include "frame_parser.hpp"
#include "upstream/stream_sequencer.hpp"

namespace tickrelay::fanout {
class Router;
struct RelayCounters;
}  // namespace tickrelay::fanout

namespace tickrelay::upstream {

class Ingest {
 public:
  using Clock = std::chrono::steady_clock;

  Ingest(fanout::Router& router, fanout::RelayCounters& counters);

  // [data, data + capacity) is readable (the parser's padding). Returns what
  // the message was, so the shard can react to events and serverShutdown.
  relay::ParsedFrame::Type process(std::uint64_t connection, const char* data, std::size_t size, std::size_t capacity,
                                   Clock::time_point received);
  // A message that is not text: counted as malformed, nothing published.
  void skip_malformed(std::size_t size);
  // Streams without event keys follow one connection; when it ends another
  // may take over.
  void connection_closed(std::uint64_t connection);

 private:
  fanout::Router& router_;
  fanout::RelayCounters& counters_;
  relay::FrameParser parser_;
  StreamSequencer sequencer_;
};

}  // namespace tickrelay::upstream
