#pragma once
// The policy of client sessions built while the registry has hooks (the
// simulator's): what a hook may do to a session, in the session's terms.
// Included by client_session.cpp only; a friend of its ClientSession.
#include <boost/beast/websocket/rfc6455.hpp>
#include <cstdint>
#include <string_view>

#include "tickrelay/fanout/relay_counters.hpp"
#include "tickrelay/fanout/session_hooks.hpp"
#include "tickrelay/wire/asio.hpp"

namespace tickrelay::fanout {

// The simulator's sessions: its hooks see every frame and act on the
// session through SessionControl.
template <class Session>
class HookedPolicy final : public SessionControl {
 public:
  static constexpr bool kHooked = true;
  HookedPolicy(Session& session, SessionHooks* hooks, const RequestTarget& target)
      : session_(session), hooks_(*hooks), target_(target) {}

  void opened() { hooks_.opened(*this); }
  void closed() { hooks_.closed(*this); }
  SessionHooks::FrameAction on_frame(const FramePtr& frame) { return hooks_.on_frame(*this, frame); }
  bool silent() { return hooks_.silent(*this); }

  const RequestTarget& target() const override { return target_; }
  bool combined() const override { return session_.combined_; }
  void send_text(std::string_view payload) override { session_.send_text(payload); }
  void ping() override { session_.ping(); }
  void close(std::uint16_t code, std::string_view reason) override {
    if (!session_.is_open()) return;
    session_.end(DisconnectReason::shutdown, Session::Ending::close_after_drain,
                 beast::websocket::close_reason(static_cast<beast::websocket::close_code>(code), reason));
  }
  void abort() override { session_.abort(); }

 private:
  Session& session_;
  SessionHooks& hooks_;
  RequestTarget target_;  // as the client asked, for the hooks
};

}  // namespace tickrelay::fanout
