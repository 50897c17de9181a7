#include "upstream/stream_sequencer.hpp"

#include <tuple>

namespace tickrelay::upstream {
namespace {

bool at_or_before(const EventKey& a, const EventKey& b) {
  return std::tie(a.event_time, a.sequence) <= std::tie(b.event_time, b.sequence);
}

}  // namespace

StreamSequencer::State::Seen* StreamSequencer::State::seen(std::uint64_t connection) {
  for (auto& o : others) {
    if (o.connection == connection) return &o;
  }
  return nullptr;
}

bool StreamSequencer::State::caught_up(std::uint64_t connection) const {
  if (!last.comparable()) return false;
  for (const auto& o : others) {
    if (o.connection == connection) return o.latest.comparable() && at_or_before(o.latest, last);
  }
  return false;
}

StreamSequencer::Verdict StreamSequencer::observe(fanout::StreamId stream, std::uint64_t connection, EventKey key,
                                                  std::int64_t gap_id, std::uint64_t& gaps) {
  if (stream >= states_.size()) states_.resize(stream + 1);
  State& s = states_[stream];
  if (key.comparable()) {
    State::Seen* self = nullptr;
    if (connection != s.owner && s.owner != 0) {
      self = s.seen(connection);
      if (self == nullptr) {
        // A newcomer: a free place, else the one of a connection not caught
        // up (or the last place), so connections caught up keep theirs.
        self = &s.others.back();
        for (auto& o : s.others) {
          if (o.connection == 0 || !s.caught_up(o.connection)) {
            self = &o;
            break;
          }
        }
        *self = State::Seen{connection, EventKey{}};
      }
    }
    // An event is new when its (E, id) is past the last delivered one; the
    // overlap of two connections replays only older or equal keys.
    if (s.last.comparable() && at_or_before(key, s.last)) {
      if (self != nullptr) self->latest = key;
      return Verdict::duplicate;
    }
    if (self != nullptr) {
      // Past the owner: taken only from a connection whose previous event
      // was delivered already, so nothing lies between; otherwise the owner
      // still has events before this one to show.
      const bool caught_up = s.caught_up(connection);
      if (!caught_up) {
        self->latest = key;
        return Verdict::duplicate;
      }
      // The owner it replaces is caught up by definition.
      *self = State::Seen{s.owner, s.last};
    }
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
    if (auto* o = s.seen(connection)) *o = State::Seen{};
    if (s.owner == connection) s.owner = 0;
  }
}

bool StreamSequencer::handed_over(std::uint64_t from, std::uint64_t to) const {
  for (const auto& s : states_) {
    if (s.owner != from) continue;
    if (!s.caught_up(to)) return false;
  }
  return true;
}

}  // namespace tickrelay::upstream
