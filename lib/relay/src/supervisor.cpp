#include "tickrelay/relay/supervisor.hpp"

#include <sched.h>
#include <spdlog/spdlog.h>

#include <boost/asio/signal_set.hpp>
#include <cstring>

#include "tickrelay/observe/logging.hpp"
#include "tickrelay/relay/app.hpp"
#include "tickrelay/relay/config_loader.hpp"
#include "tickrelay/relay/systemd_notifier.hpp"

namespace tickrelay::service {

// How often STATUS= is refreshed: often enough to watch, rare enough to be free.
constexpr auto kStatusInterval = std::chrono::seconds(5);

Supervisor::Supervisor(net::io_context& ioc, relay::App& app, std::string config_path, const SystemdNotifier& notifier,
                       spdlog::logger& log)
    : ioc_(ioc),
      app_(app),
      config_path_(std::move(config_path)),
      notifier_(notifier),
      log_(log),
      signals_(ioc, SIGHUP, SIGTERM, SIGINT),
      watchdog_timer_(ioc),
      status_timer_(ioc) {}

void Supervisor::start() {
  wait_signal();
  if (notifier_.watchdog_interval()) {
    log_.info("systemd watchdog on interval={}ms", notifier_.watchdog_interval()->count() / 1000);
    feed_watchdog();
  }
  refresh_status();
}

void Supervisor::wait_signal() {
  signals_.async_wait([this](error_code ec, int signal) {
    if (ec) return;
    if (signal == SIGHUP) {
      reload();
      wait_signal();
      return;
    }
    log_.info("signal received signal={}", strsignal(signal));
    notifier_.stopping();
    watchdog_timer_.cancel();
    status_timer_.cancel();
    app_.shutdown([this] {
      log_.info("stopped");
      ioc_.stop();
    });
  });
}

bool Supervisor::reload() {
  notifier_.reloading();
  log_.info("reloading file={}", config_path_);
  bool applied = false;
  try {
    const auto next = config::load_config_file(config_path_);
    app_.apply(next);
    observe::apply_log_level(log_, next.log.level);
    apply_cpu_affinity(next.cpu_affinity, log_);
    applied = true;
  } catch (const config::ConfigError& e) {
    log_.error("reload refused, running configuration kept file={} line={} key={} reason=\"{}\"", config_path_,
               e.line(), e.key(), e.reason());
  } catch (const std::exception& e) {
    log_.error("reload failed, running configuration kept file={} reason=\"{}\"", config_path_, e.what());
  }
  notifier_.ready();
  return applied;
}

void Supervisor::feed_watchdog() {
  notifier_.watchdog();
  // Twice per interval, as sd_watchdog_enabled(3) advises.
  watchdog_timer_.expires_after(*notifier_.watchdog_interval() / 2);
  watchdog_timer_.async_wait([this](error_code ec) {
    if (!ec) feed_watchdog();
  });
}

void Supervisor::refresh_status() {
  notifier_.status(app_.status_line());
  status_timer_.expires_after(kStatusInterval);
  status_timer_.async_wait([this](error_code ec) {
    if (!ec) refresh_status();
  });
}

void apply_cpu_affinity(int cpu, spdlog::logger& log) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) {
    log.warn("cannot pin to CPU cpu={} error=\"{}\"", cpu, std::strerror(errno));
    return;
  }
  log.info("pinned to CPU cpu={}", cpu);
}

}  // namespace tickrelay::service
