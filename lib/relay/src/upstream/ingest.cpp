#include "upstream/ingest.hpp"

#include <algorithm>

#include "tickrelay/fanout/frame.hpp"
#include "tickrelay/fanout/relay_counters.hpp"
#include "tickrelay/fanout/router.hpp"
#include "tickrelay/fanout/stream_name.hpp"

namespace tickrelay::upstream {

Ingest::Ingest(fanout::Router& router, fanout::RelayCounters& counters) : router_(router), counters_(counters) {}

void Ingest::skip_malformed(std::size_t size) {
  ++counters_.upstream_messages;
  counters_.upstream_bytes += size;
  ++counters_.upstream_malformed;
}

relay::ParsedFrame::Type Ingest::process(std::uint64_t connection, const char* data, std::size_t size,
                                         std::size_t capacity, Clock::time_point received) {
  ++counters_.upstream_messages;
  counters_.upstream_bytes += size;
  const auto parsed = parser_.parse(data, size, capacity);
  using Type = relay::ParsedFrame::Type;
  if (parsed.type == Type::malformed) ++counters_.upstream_malformed;
  if (parsed.type != Type::event) return parsed.type;

  const auto stream = router_.find(parsed.stream);
  if (stream == fanout::kNoStream || !router_.carried(stream)) {
    ++counters_.upstream_unknown_stream;
    return parsed.type;
  }
  const auto kind = router_.kind(stream);
  std::int64_t gap_id = -1;
  switch (fanout::sequence_field(kind)) {
    case fanout::SequenceField::trade_id: gap_id = parsed.trade_id; break;
    case fanout::SequenceField::agg_trade_id: gap_id = parsed.agg_id; break;
    case fanout::SequenceField::none: break;
  }
  const std::int64_t sequence = parsed.trade_id >= 0 ? parsed.trade_id
                                : parsed.agg_id >= 0 ? parsed.agg_id
                                                     : parsed.update_id;
  auto& gaps = counters_.upstream_gaps[static_cast<std::size_t>(kind)];
  if (sequencer_.observe(stream, connection, EventKey{parsed.event_time, sequence}, gap_id, gaps) ==
      StreamSequencer::Verdict::duplicate) {
    ++counters_.upstream_duplicates;
    return parsed.type;
  }
  std::int64_t event_us = 0;
  if (parsed.event_time > 0) {
    event_us = relay::event_time_to_us(parsed.event_time);
    const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    counters_.upstream_event_lag.observe(static_cast<double>(std::max<std::int64_t>(0, now_us - event_us)) / 1e6);
  }
  router_.publish(fanout::Frame::from_envelope(std::string_view(data, size), parsed.data_offset, parsed.data_size,
                                               stream, event_us, received));
  return parsed.type;
}

void Ingest::connection_closed(std::uint64_t connection) { sequencer_.connection_closed(connection); }

}  // namespace tickrelay::upstream
