#include "upstream/stream_sequencer.hpp"

#include <tuple>

namespace tickrelay::upstream {

StreamSequencer::Verdict StreamSequencer::observe(fanout::StreamId stream, std::uint64_t connection, EventKey key,
                                                  std::int64_t gap_id, std::uint64_t& gaps) {
  if (stream >= states_.size()) states_.resize(stream + 1);
  State& s = states_[stream];
  if (key.comparable()) {
    // An event is new when its (E, id) is past the last delivered one; the
    // overlap of two connections replays only older or equal keys.
    if (s.last.comparable() && std::tie(key.event_time, key.sequence) <= std::tie(s.last.event_time, s.last.sequence))
      return Verdict::duplicate;
    s.last = key;
    s.owner = connection;
  } else {
    if (s.owner != 0 && s.owner != connection) return Verdict::duplicate;
    s.owner = connection;
  }
  if (gap_id >= 0) {
    // gap_id - 1 cannot overflow (gap_id >= 0); last_gap_id + 1 would at
    // INT64_MAX, an id any upstream may send.
    if (s.last_gap_id >= 0 && gap_id - 1 != s.last_gap_id) ++gaps;
    s.last_gap_id = gap_id;
  }
  return Verdict::deliver;
}

void StreamSequencer::connection_closed(std::uint64_t connection) {
  for (auto& s : states_) {
    if (s.owner == connection) s.owner = 0;
  }
}

}  // namespace tickrelay::upstream
