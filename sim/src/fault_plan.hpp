#pragma once
// The simulator's fault flags as plain data, and the decisions they imply.
// No I/O and no clock: the server passes `now` and keeps one ConnectionFaults
// per connection; FaultPlan says what that connection should do.
//
// Timed faults count from each connection's own opening (so a client that
// reconnects meets them again), except --refuse-for, which counts from the
// simulator's start. Faults apply to connections whose request path starts
// with target_path (all when empty); max_connection_age is Binance's own
// rule, not a fault, and applies to every connection.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim_types.hpp"

namespace tickrelay::sim {

// Long enough for a client to read the notice and open its replacement
// connection, short enough that tests of the reconnect do not wait long.
inline constexpr Micros kShutdownGrace{std::chrono::seconds(1)};

struct FaultSettings {
  // Close abruptly (no close frame, as a network failure) when a connection
  // reaches this age; 0 = never.
  Micros drop_every{0};
  // Close abruptly right after this many data frames; 0 = never.
  std::uint64_t drop_after_events = 0;
  // Stop sending anything at this age but keep the socket (a hung server);
  // unset = never. Lasts stall_for, 0 = forever.
  std::optional<Micros> stall_after;
  Micros stall_for{0};
  // Send serverShutdown at this age, then close shutdown_grace later; 0 = never.
  Micros shutdown_after{0};
  Micros shutdown_grace{kShutdownGrace};
  // Every Nth data frame of a connection is replaced by a malformed one,
  // cycling through MalformedKind in order; 0 = never.
  std::uint64_t malformed_every = 0;
  // The kinds to cycle through instead (--malformed-kinds); empty: the first
  // kMalformedKinds in order.
  std::vector<MalformedKind> malformed_kinds;
  // Send the malformed frame just before the event instead of in its place,
  // so that a client still gets every valid event.
  bool malformed_between = false;
  // Refuse connections during this time after start, and/or the first N
  // attempts; 0 = never.
  Micros refuse_for{0};
  std::uint64_t refuse_first = 0;
  // Every Nth event of each stream is lost (its id consumed); 0 = never.
  std::uint64_t skip_every = 0;
  // Binance closes every connection at 24 h.
  Micros max_connection_age{std::chrono::hours(24)};
  // Only connections whose path starts with this (e.g. "/market"); empty = all.
  std::string target_path;
};

// What FaultPlan keeps per connection; the server stores it and passes it in.
struct ConnectionFaults {
  bool targeted = false;  // faults apply to this connection
  Clock::time_point opened_at{};
  std::uint64_t frames = 0;  // data frames decided by on_frame so far
  bool shutdown_sent = false;
};

enum class ConnectionVerdict : std::uint8_t {
  run,                   // send normally
  stall,                 // send nothing at all (no data, pings or pongs); events are dropped, not queued
  send_shutdown,         // send serverShutdown now (returned once), keep running
  close_after_shutdown,  // orderly WebSocket close after the shutdown notice
  close_max_age,         // orderly WebSocket close: the 24 h rule
  drop,                  // abrupt close, no close frame
};
std::string_view to_string(ConnectionVerdict verdict);

struct ConnectionCheck {
  ConnectionVerdict verdict = ConnectionVerdict::run;
  // When the verdict may change next; Clock::time_point::max() if never.
  // The server arms the connection's timer for it.
  Clock::time_point recheck_at = Clock::time_point::max();
};

struct FrameDecision {
  std::optional<MalformedKind> malformed;  // send render_malformed(...) instead of the event
  bool drop_after = false;                 // drop the connection once this frame is written
};

class FaultPlan {
 public:
  FaultPlan(FaultSettings settings, Clock::time_point start);

  // A connection attempt on `path`: false = refuse it. Counts attempts on
  // targeted paths for --refuse-first, so call it once per attempt.
  bool admit(std::string_view path, Clock::time_point now);

  // State for a connection accepted on `path` at `now`.
  ConnectionFaults open(std::string_view path, Clock::time_point now) const;

  // From the connection's timer (at least at each recheck_at). Returns
  // send_shutdown once and records that it did. When several faults are due
  // (a late timer), the one due first wins; closes and the shutdown notice
  // still happen during a stall.
  ConnectionCheck check(ConnectionFaults& connection, Clock::time_point now) const;

  // For each data frame about to go to a connection (events only, not pings
  // or control replies), in order.
  FrameDecision on_frame(ConnectionFaults& connection) const;

  // Whether the `event_number`-th event (1-based: model.sequence(stream) + 1)
  // of a stream served on `endpoint` is lost. Streams are shared by every
  // connection on the endpoint, so it applies when target_path may match any
  // of the endpoint's paths (/ws and /stream for spot, /market, /public).
  bool skips(std::uint64_t event_number, Endpoint endpoint) const;

  bool targets(std::string_view path) const;
  const FaultSettings& settings() const { return settings_; }

 private:
  FaultSettings settings_;
  Clock::time_point start_;
  std::uint64_t targeted_attempts_ = 0;
};

}  // namespace tickrelay::sim
