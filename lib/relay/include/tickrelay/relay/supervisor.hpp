#pragma once
// Keeps the running daemon in step with its operator and with systemd:
// SIGHUP re-reads and validates the YAML and applies it (or keeps the running
// configuration and says why), SIGTERM/SIGINT shut down gracefully, the
// watchdog is fed from the event loop, STATUS= is refreshed.
#include <string>

#include <boost/asio/signal_set.hpp>

#include "tickrelay/wire/asio.hpp"

namespace spdlog {
class logger;
}

namespace tickrelay::relay {
class App;
}

namespace tickrelay::service {

class SystemdNotifier;

class Supervisor {
 public:
  Supervisor(net::io_context& ioc, relay::App& app, std::string config_path, const SystemdNotifier& notifier,
             spdlog::logger& log);

  void start();
  // Re-reads the config file; true if the new configuration was applied.
  bool reload();

 private:
  void wait_signal();
  void feed_watchdog();
  void refresh_status();

  net::io_context& ioc_;
  relay::App& app_;
  std::string config_path_;
  const SystemdNotifier& notifier_;
  spdlog::logger& log_;
  net::signal_set signals_;
  net::steady_timer watchdog_timer_;
  net::steady_timer status_timer_;
};

// Pins the calling thread (the whole daemon) to one CPU; -1 leaves it.
void apply_cpu_affinity(int cpu, spdlog::logger& log);

}  // namespace tickrelay::service
