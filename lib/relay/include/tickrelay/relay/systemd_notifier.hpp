#pragma once
// sd_notify states for a Type=notify unit. Outside systemd (no NOTIFY_SOCKET)
// every call is a no-op, so the daemon behaves the same in a terminal.
#include <chrono>
#include <optional>
#include <string>

namespace tickrelay::service {

class SystemdNotifier {
 public:
  SystemdNotifier();

  bool active() const { return active_; }
  void ready() const;
  void reloading() const;
  void stopping() const;
  void status(const std::string& line) const;
  void watchdog() const;
  // The watchdog interval systemd expects pings within (WATCHDOG_USEC), if any.
  std::optional<std::chrono::microseconds> watchdog_interval() const { return watchdog_; }

 private:
  void notify(const std::string& state) const;
  bool active_;
  std::optional<std::chrono::microseconds> watchdog_;
};

}  // namespace tickrelay::service
