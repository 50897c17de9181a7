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
#include "target_counts.hpp"

namespace tickrelay::client {

class Session;

// One connection of the plan; it outlives the sessions that serve it, so
// counts add up across reconnects.
struct ConnectionSlot {
  std::uint64_t messages = 0;  // read only after the run
  std::uint64_t bytes = 0;
  GapTracker gaps;
  Session* session = nullptr;                        // the live session, for stop()
  std::unique_ptr<boost::asio::steady_timer> retry;  // pending reconnect
  unsigned attempts = 0;                             // failed attempts since the last good connect
  bool ever_up = false;
};

// What one worker thread has seen of one target. Only that thread writes;
// counters are read meanwhile by the control thread.
struct TargetTally : TargetCounts<RelaxedCounter> {
  explicit TargetTally(double alert_pct) : symbols(alert_pct) {}

  RelaxedCounter connections_up;  // gauge
  LatencyRecorder latency;
  SymbolTable symbols;
  std::string first_error;  // what went wrong first, for the report; read after the run
  std::vector<ConnectionSlot> slots;
};

// A target's counts at the end of the warm-up, taken on the worker's own
// thread; the report subtracts those counted since the warm-up (failures
// count over the whole run).
struct TallySnapshot : TargetCounts<std::uint64_t> {
  LatencyRecorder latency;
  std::vector<std::uint64_t> slot_messages;  // per ConnectionSlot, same order
};

}  // namespace tickrelay::client
