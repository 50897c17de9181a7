#include "tickrelay/relay/systemd_notifier.hpp"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <cstdlib>

namespace tickrelay::service {

SystemdNotifier::SystemdNotifier() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  active_ = socket != nullptr && *socket != '\0';
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) watchdog_ = std::chrono::microseconds(usec);
}

void SystemdNotifier::notify(const std::string& state) const {
  if (active_) sd_notify(0, state.c_str());
}

void SystemdNotifier::ready() const { notify("READY=1"); }

void SystemdNotifier::reloading() const {
  // MONOTONIC_USEC lets systemd 253+ (Type=notify-reload) match the reload;
  // older systemd ignores it.
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const auto usec = static_cast<unsigned long long>(ts.tv_sec) * 1000000ULL +
                    static_cast<unsigned long long>(ts.tv_nsec) / 1000ULL;
  notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void SystemdNotifier::stopping() const { notify("STOPPING=1"); }

void SystemdNotifier::status(const std::string& line) const { notify("STATUS=" + line); }

void SystemdNotifier::watchdog() const { notify("WATCHDOG=1"); }

}  // namespace tickrelay::service
