// The upstream side: one WebSocket message from an upstream, as Ingest gets
// it, through FrameParser, the sequencer and Frame (the copy of the data
// range is where a wrong range would overflow), and the rendering of each
// event in the other time unit for the clients that asked for it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <vector>

#include "frame_parser.hpp"
#include "tickrelay/fanout/relay_counters.hpp"
#include "tickrelay/fanout/router.hpp"
#include "tickrelay/fanout/stream_name.hpp"
#include "upstream/ingest.hpp"

namespace {

using namespace tickrelay;

// Takes every frame it is given and lets it go.
struct Sink final : fanout::Subscriber {
  std::map<fanout::StreamId, fanout::SubscriberSlot> slots;
  void deliver(const fanout::FramePtr& frame) override { check_frame(frame); }
  fanout::SubscriberSlot slot(fanout::StreamId id) const override {
    const auto it = slots.find(id);
    return it == slots.end() ? fanout::kNoSlot : it->second;
  }
  void set_slot(fanout::StreamId id, fanout::SubscriberSlot slot) override { slots[id] = slot; }
  static void check_frame(const fanout::FramePtr& frame);
};

struct Relay {
  fanout::Router router;
  fanout::RelayCounters counters;
  upstream::Ingest ingest{router, counters};
  relay::FrameParser parser;
  Sink sink;
  Relay() {
    bool micro = false;
    for (const char* name : {"btcusdt@trade", "btcusdt@aggTrade", "btcusdt@bookTicker", "btcusdt@kline_1m",
                             "btcusdt@depth5", "!miniTicker@arr", "a@trade"}) {
      const auto id = router.add_stream(name, fanout::parse_stream_name(name)->kind, true);
      // Half the streams read in each unit, every one with clients of both.
      micro = !micro;
      const auto unit = micro ? upstream::TimeUnit::microsecond : upstream::TimeUnit::millisecond;
      const auto other = micro ? upstream::TimeUnit::millisecond : upstream::TimeUnit::microsecond;
      ingest.declare(id, unit, "");
      router.subscribe(id, &sink);
      router.subscribe(ingest.client_form(id, "", other), &sink);
    }
  }
};

void check(bool ok) {
  if (!ok) std::abort();
}

void Sink::check_frame(const fanout::FramePtr& frame) {
  check(frame->raw_payload().size() <= frame->envelope_payload().size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Relay relay;
  const char* text = reinterpret_cast<const char*>(data);
  // Exactly `size` readable bytes: the parser copies to pad, as for a
  // message that fills its buffer.
  const auto parsed = relay.parser.parse(text, size, size);
  if (parsed.type == relay::ParsedFrame::Type::event) {
    check(parsed.data_offset <= size && parsed.data_size <= size - parsed.data_offset);
  }
  // In place, with the padding the upstream connection leaves after a
  // message; the first bytes of the input pick the connection (rotation
  // overlaps two) so the sequencer sees both.
  std::vector<char> padded(size + 64, ' ');
  std::memcpy(padded.data(), data, size);
  const std::uint64_t connection = size > 0 && (data[0] & 1) ? 2 : 1;
  relay.ingest.process(connection, padded.data(), size, padded.size(), upstream::Ingest::Clock::now());
  return 0;
}
