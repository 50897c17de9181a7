#pragma once
// What the registry and the router see of a client session, whatever its
// socket (plain or TLS) and policy (the relay's, or the simulator's hooks).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "tickrelay/fanout/frame.hpp"
#include "tickrelay/fanout/router.hpp"

namespace tickrelay::fanout {

// One client as the client list on the metrics port shows it; views into
// the session, valid until it next runs.
struct ClientInfo {
  std::string_view peer;
  bool tls = false;
  bool open = false;  // false: being closed
  std::vector<std::string_view> streams;
  std::size_t queued_bytes = 0;
  double oldest_queued_seconds = 0;  // age of its oldest queued frame; 0: none queued
  std::uint64_t messages_sent = 0;
  std::chrono::system_clock::time_point connected_at{};
};

class ClientSessionBase : public Subscriber, public std::enable_shared_from_this<ClientSessionBase> {
 public:
  virtual ~ClientSessionBase() = default;
  virtual void flush() = 0;
  // Close with 1001 once what is queued has been written.
  virtual void shutdown() = 0;
  // Drop the connection now, with no close handshake.
  virtual void abort() = 0;
  // The relay no longer carries `id` (reload removed it): drop it and tell
  // the client.
  virtual void stream_retired(StreamId id) = 0;
  virtual void describe(ClientInfo& out, Clock::time_point now) const = 0;
  // A client silent for `idle` is pinged; silent for twice that, dropped.
  virtual void check_idle(Clock::time_point now, Clock::duration idle) = 0;
};

}  // namespace tickrelay::fanout
