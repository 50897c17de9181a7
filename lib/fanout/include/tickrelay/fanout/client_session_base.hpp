#pragma once
// What the registry and the router see of a client session, whatever its
// socket (plain or TLS) and policy (the relay's, or the simulator's hooks).
#include <memory>

#include "tickrelay/fanout/frame.hpp"
#include "tickrelay/fanout/router.hpp"

namespace tickrelay::fanout {

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
};

}  // namespace tickrelay::fanout
