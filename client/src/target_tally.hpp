#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "gap_tracker.hpp"
#include "latency_recorder.hpp"
#include "relaxed_counter.hpp"
#include "symbol_table.hpp"

namespace tickrelay::client {

class Session;

// One connection of the plan; it outlives the sessions that serve it, so
// counts add up across reconnects.
struct ConnectionSlot {
  std::uint64_t messages = 0;  // read only after the run
  std::uint64_t bytes = 0;
  GapTracker gaps;
  Session* session = nullptr;  // the live session, for stop()
  std::unique_ptr<boost::asio::steady_timer> retry;  // pending reconnect
  unsigned attempts = 0;       // failed attempts since the last good connect
  bool ever_up = false;
};

// What one worker thread has seen of one target. Only that thread writes;
// counters are read meanwhile by the control thread.
struct TargetTally {
  explicit TargetTally(double alert_pct) : symbols(alert_pct) {}

  RelaxedCounter messages;  // market messages (control and malformed apart)
  RelaxedCounter bytes;     // payload bytes of market messages
  RelaxedCounter control;   // responses such as {"result":null,"id":1}
  RelaxedCounter malformed;
  RelaxedCounter without_event_time;  // counted, not in latency (spot bookTicker)
  RelaxedCounter millisecond_times;   // latency samples whose E was in ms
  RelaxedCounter negative_latency;    // E after now: clocks apart; recorded as 0
  RelaxedCounter lost;                // ids skipped in sequences
  RelaxedCounter duplicates;
  RelaxedCounter connect_errors;      // attempts that never got to a WebSocket
  RelaxedCounter drops;               // established connections that ended early
  RelaxedCounter reconnects;          // connections re-established after a drop
  RelaxedCounter connections_up;      // gauge
  LatencyRecorder latency;
  SymbolTable symbols;
  std::string first_error;  // what went wrong first, for the report; read after the run
  std::vector<ConnectionSlot> slots;
};

// A target's counts at the end of the warm-up, taken on the worker's own
// thread; the report subtracts them. Failures (connect errors, drops,
// reconnects) are not in it: those count over the whole run.
struct TallySnapshot {
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
  std::uint64_t control = 0;
  std::uint64_t malformed = 0;
  std::uint64_t without_event_time = 0;
  std::uint64_t millisecond_times = 0;
  std::uint64_t negative_latency = 0;
  std::uint64_t lost = 0;
  std::uint64_t duplicates = 0;
  LatencyRecorder latency;
  std::vector<std::uint64_t> slot_messages;  // per ConnectionSlot, same order
};

}  // namespace tickrelay::client
