#pragma once
// Optional hooks into every client session, for a server that shapes what its
// clients see beyond relaying: the simulator uses them to inject faults
// (refusals, stalls, drops, malformed frames, serverShutdown) and to ping on
// Binance's schedule. tickrelayd runs without hooks.
#include <cstdint>
#include <string>

#include "tickrelay/fanout/request_target.hpp"
#include "tickrelay/fanout/frame.hpp"

namespace tickrelay::fanout {

// What a hook may do to a session.
class SessionControl {
 public:
  virtual const RequestTarget& target() const = 0;
  virtual bool combined() const = 0;
  // Queues a text frame of our own (e.g. a serverShutdown event).
  virtual void send_text(const std::string& payload) = 0;
  virtual void ping() = 0;
  // Orderly WebSocket close with `code` and `reason`.
  virtual void close(std::uint16_t code, const std::string& reason) = 0;
  // Drops the TCP connection with no close frame (a network failure).
  virtual void abort() = 0;
  // While paused, nothing is sent: frames, pings and pongs are discarded.
  virtual void set_paused(bool paused) = 0;

 protected:
  ~SessionControl() = default;
};

class SessionHooks {
 public:
  struct FrameAction {
    fanout::FramePtr frame;    // what to queue (the same frame, or another); null: skip
    bool abort_after = false; // drop the connection once it is written
  };

  // A handshake for `target` arrived: false refuses it (HTTP 503).
  virtual bool admit(const RequestTarget& target) = 0;
  // The session is open; `control` stays valid until closed(control).
  virtual void opened(SessionControl& control) = 0;
  virtual void closed(SessionControl& control) = 0;
  // A data frame is about to be queued for the session.
  virtual FrameAction on_frame(SessionControl& control, const fanout::FramePtr& frame) = 0;

 protected:
  ~SessionHooks() = default;
};

}  // namespace tickrelay::fanout
