#pragma once
// One upstream message in: parse it (no DOM), drop what another connection
// already delivered (rotation overlap), measure its lag, and publish it to
// the router as one shared frame. Shared by every shard, so de-duplication
// sees all connections; no sockets, so it is tested with plain strings.
//
// Each stream is published in the time unit its upstream was configured
// with when the stream first appeared; clients that asked for the other
// unit subscribe to the stream's other form, rendered here once per message
// while it has subscribers. A message that arrives in the other unit (the
// upstream's time_unit changed on reload, or the server ignored timeUnit) is
// rendered into the declared unit: no client ever gets a unit it did not ask
// for.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "frame_parser.hpp"
#include "tickrelay/fanout/frame.hpp"
#include "upstream/stream_sequencer.hpp"
#include "upstream/time_units.hpp"

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
  // Closing `from` loses nothing that `to` does not carry (StreamSequencer).
  bool handed_over(std::uint64_t from, std::uint64_t to) const { return sequencer_.handed_over(from, to); }

  // A stream an upstream carries on `path` ("", "/market", "/public"); its
  // unit is the one given the first time, the path the latest.
  void declare(fanout::StreamId stream, TimeUnit unit, std::string_view path);
  // What a client that connected under `prefix` and asked for `unit`
  // subscribes to: the stream, its form in the other unit (made and filled
  // with the latest value here), or kSilentStream when the client's path
  // does not carry it (USD-M: /public carries book streams, /market the
  // rest, /private none; the root, kept for programs written before the
  // split, and every path of spot and COIN-M carry all).
  fanout::StreamId client_form(fanout::StreamId stream, std::string_view prefix, TimeUnit unit);
  // The stream's other form, kNoStream if none was made; retired with it.
  fanout::StreamId other_form(fanout::StreamId stream) const;
  // Clients of the stream in either unit.
  std::size_t subscriber_count(fanout::StreamId stream) const;

  // Sees every event published, as it came and after de-duplication: the
  // backbone's ingest role publishes it on.
  using Tap = std::function<void(fanout::StreamId stream, std::string_view message)>;
  void set_tap(Tap tap) { tap_ = std::move(tap); }

 private:
  struct Forms {
    bool declared = false;
    TimeUnit unit = TimeUnit::millisecond;
    std::string path;
    fanout::StreamId other = fanout::kNoStream;
  };
  // `frame` (in `from`) in `to`, as an event of `target`: the frame itself
  // when it has no time field, null when it cannot be rendered (counted as
  // malformed).
  fanout::FramePtr render(const fanout::FramePtr& frame, fanout::StreamId native, fanout::StreamId target,
                          TimeUnit from, TimeUnit to);
  void publish(fanout::StreamId stream, const fanout::FramePtr& frame, TimeUnit sent);

  fanout::Router& router_;
  fanout::RelayCounters& counters_;
  relay::FrameParser parser_;
  StreamSequencer sequencer_;
  TimeRescaler rescaler_;
  std::string rendered_;
  std::vector<Forms> forms_;  // by stream id
  Tap tap_;
};

}  // namespace tickrelay::upstream
