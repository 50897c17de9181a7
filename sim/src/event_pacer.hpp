#pragma once
// Paces --rate events per second, all streams together, and deals them out
// round-robin over the streams that have subscribers. No timer of its own:
// the server asks from its timer (e.g. every 1 ms) how many are due.
//
// Schedule: after start (or a rate change) at t0, event k (k = 1, 2, ...) is
// due at t0 + k/rate. Integer arithmetic, exact from 1/s to well beyond
// 2,000,000/s.
//
// Backlog policy: events more than max_backlog late are DROPPED, not caught
// up. A stall (the process was descheduled, a long handler) of up to
// max_backlog is made up in one call; beyond that the schedule moves on and
// dropped() counts what was never produced. Why drop rather than catch up:
//  - the simulator is a load source; a catch-up burst offers more than
//    --rate for a while, so the relay under test would be measured against a
//    load nobody configured;
//  - every event is stamped when emitted, so replaying a backlog would not
//    reproduce lateness anyway, only a burst;
//  - when the rate exceeds what one core can produce, catch-up debt grows
//    without bound; dropping keeps each call's work bounded (the loop stays
//    responsive to pings and subscriptions) and makes the shortfall a
//    visible counter.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "sim_types.hpp"

namespace tickrelay::sim {

class EventPacer {
 public:
  // Long enough to absorb timer slack, a page fault or a scheduler tick
  // without losing events; short enough that the largest burst one call may
  // return is 10 ms of traffic.
  static constexpr Micros kDefaultMaxBacklog{10'000};

  explicit EventPacer(std::uint64_t rate, Micros max_backlog = kDefaultMaxBacklog);

  // 0 pauses. Restarts the schedule at `now`: no burst, no lost events.
  void set_rate(std::uint64_t rate, Clock::time_point now);
  std::uint64_t rate() const { return rate_; }

  // The streams taking part; false if already in (add) or absent (remove).
  // Adding the first stream restarts the schedule at `now`, so time spent
  // with nothing to send never becomes a backlog.
  bool add_stream(StreamId stream, Clock::time_point now);
  bool remove_stream(StreamId stream);
  std::size_t stream_count() const { return ring_.size(); }

  // Number of events to emit now, at most max_backlog's worth. Returns 0
  // while paused or without streams.
  std::uint64_t take_due(Clock::time_point now);

  // The stream for the next event, round-robin so every stream gets an equal
  // share. Precondition: stream_count() > 0.
  StreamId next_stream();

  // When the next event falls due; Clock::time_point::max() when paused or
  // without streams. Lets the server sleep at low rates instead of polling.
  Clock::time_point next_due() const;

  std::uint64_t emitted() const { return emitted_total_; }  // returned by take_due so far
  std::uint64_t dropped() const { return dropped_; }        // late beyond max_backlog

 private:
  std::uint64_t due_since_anchor(Clock::time_point now) const;
  void restart(Clock::time_point now);

  std::uint64_t rate_;
  Micros max_backlog_;
  std::uint64_t cap_;  // max events per call: rate × max_backlog, at least 1
  Clock::time_point anchor_{};
  bool anchored_ = false;
  std::uint64_t taken_ = 0;  // events handed out since anchor_
  std::uint64_t emitted_total_ = 0;
  std::uint64_t dropped_ = 0;
  std::vector<StreamId> ring_;
  std::size_t cursor_ = 0;
};

}  // namespace tickrelay::sim
