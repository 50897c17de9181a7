#pragma once
// Hooks for a server that shapes what its clients see beyond relaying: the
// simulator uses them to inject faults (refusals, stalls, drops, malformed
// frames, serverShutdown) and to ping on Binance's schedule. tickrelayd sets
// none, and its sessions are built without them: the per-frame hook and
// everything a hook may do to a session exist only in the hooked sessions.
#include <cstdint>
#include <string_view>

#include "tickrelay/fanout/frame.hpp"
#include "tickrelay/fanout/request_target.hpp"

namespace tickrelay::fanout {

// What a hook may do to a session.
class SessionControl {
 public:
  virtual const RequestTarget& target() const = 0;
  virtual bool combined() const = 0;
  // Queues a text frame of our own (e.g. a serverShutdown event).
  virtual void send_text(std::string_view payload) = 0;
  // A WebSocket ping, unless the previous one is still on its way.
  virtual void ping() = 0;
  // Orderly WebSocket close with `code` and `reason`, behind what is queued.
  virtual void close(std::uint16_t code, std::string_view reason) = 0;
  // Drops the TCP connection with no close frame (a network failure).
  virtual void abort() = 0;

 protected:
  ~SessionControl() = default;
};

class SessionHooks {
 public:
  struct FrameAction {
    FramePtr frame;           // what to queue (the same frame, or another); null: skip
    bool drop_after = false;  // drop the connection once it is written
  };

  // A handshake for `target` arrived: false refuses it (HTTP 503).
  virtual bool admit(const RequestTarget& target) = 0;
  // The session is open; `control` stays valid until closed(control).
  virtual void opened(SessionControl& control) = 0;
  virtual void closed(SessionControl& control) = 0;
  // A data frame is about to be queued for the session.
  virtual FrameAction on_frame(SessionControl& control, const FramePtr& frame) = 0;
  // True while the session must send nothing of its own either: the
  // library's pongs and close frames are discarded (a hung server).
  virtual bool silent(SessionControl& control) = 0;

 protected:
  ~SessionHooks() = default;
};

}  // namespace tickrelay::fanout
