#pragma once
// The policy of tickrelayd's client sessions (see ClientSession in
// client_session.cpp): no hooks.
#include "tickrelay/fanout/session_hooks.hpp"

namespace tickrelay::fanout {

// tickrelayd's sessions: nothing stands between the router and the queue.
// Empty, so it takes no room and every use of it compiles away.
template <class Session>
class RelayPolicy {
 public:
  static constexpr bool kHooked = false;
  RelayPolicy(Session&, SessionHooks*, const RequestTarget&) {}
};

}  // namespace tickrelay::fanout
