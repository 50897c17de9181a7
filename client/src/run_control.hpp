#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "tickrelay/wire/asio.hpp"

namespace tickrelay::client {

// An alert crossing on its way from a worker to the control thread.
struct AlertEvent {
  std::size_t target = 0;
  std::string symbol;
  double change_pct = 0;
  double price = 0;
  bool above = false;
};

// State every thread shares: the stop flag, the --messages budget, the count
// of connections that may still deliver. Rare events (finish, alerts) are
// posted to the control thread's loop, which owns output and timers.
class RunControl {
 public:
  RunControl(net::io_context& control_loop, std::uint64_t max_messages, std::int64_t planned_connections,
             std::function<void()> on_finish, std::function<void(const AlertEvent&)> on_alert);

  bool stopping() const { return stopping_.load(std::memory_order_relaxed); }

  // Counts one market message against --messages: false when the budget was
  // already spent, so the total never passes it even with several threads.
  bool take_message() {
    if (max_messages_ == 0) return true;
    const std::uint64_t before = taken_.fetch_add(1, std::memory_order_relaxed);
    if (before + 1 == max_messages_) finish();
    return before < max_messages_;
  }

  // A connection gave up for good (no --reconnect); the run ends when none
  // is left to deliver anything.
  void connection_gone();
  // Ends the run; any thread, any number of times.
  void finish();
  void alert(AlertEvent event);

 private:
  net::io_context& control_loop_;
  const std::uint64_t max_messages_;
  std::atomic<std::uint64_t> taken_{0};
  std::atomic<std::int64_t> remaining_connections_;
  std::atomic<bool> stopping_{false};
  std::function<void()> on_finish_;
  std::function<void(const AlertEvent&)> on_alert_;
};

}  // namespace tickrelay::client
