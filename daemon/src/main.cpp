// tickrelayd: relays Binance market-data streams to many WebSocket clients
// from one thread. Parses the command line, loads and validates the config,
// builds the App and runs the loop.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "tickrelay/observe/build_info.hpp"
#include "tickrelay/observe/logging.hpp"
#include "tickrelay/relay/app.hpp"
#include "tickrelay/relay/config_loader.hpp"
#include "tickrelay/relay/shard_plan.hpp"
#include "tickrelay/relay/supervisor.hpp"
#include "tickrelay/relay/systemd_notifier.hpp"

namespace {

// Each client is a descriptor: take the hard limit we are allowed.
void raise_fd_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

int check_config(const std::string& path) {
  try {
    const auto config = tickrelay::config::load_config_file(path);
    std::size_t streams = 0;
    std::size_t connections = 0;
    for (const auto& up : config.upstreams) {
      streams += up.streams.size();
      connections += tickrelay::upstream::plan_shards(up).size();
    }
    std::cout << path << ": OK: " << config.upstreams.size() << " upstream(s), " << streams << " stream(s) on "
              << connections << " connection(s)\n";
    return 0;
  } catch (const tickrelay::config::ConfigError& e) {
    std::cerr << "tickrelayd: config error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"tickrelayd: relays Binance market-data WebSocket streams to many clients from one core"};
  std::string config_path = "/etc/tickrelay/tickrelayd.yaml";
  std::string check_path;
  bool version = false;
  cli.add_option("-c,--config", config_path, "configuration file")->capture_default_str();
  cli.add_option("--check-config", check_path, "validate FILE and exit (non-zero on error)");
  cli.add_flag("--version", version, "print the version and exit");
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e) == 0 ? 0 : 2;
  }
  if (version) {
    std::cout << "tickrelayd " << TICKRELAY_VERSION << " (" << tickrelay::observe::build_commit() << ")\n";
    return 0;
  }
  if (!check_path.empty()) return check_config(check_path);

  tickrelay::config::Config config;
  try {
    config = tickrelay::config::load_config_file(config_path);
  } catch (const tickrelay::config::ConfigError& e) {
    std::cerr << "tickrelayd: config error: " << e.what() << "\n";
    return 1;
  }
  auto log = tickrelay::observe::make_logger("tickrelayd", config.log);
  ::signal(SIGPIPE, SIG_IGN);
  raise_fd_limit();
  tickrelay::service::apply_cpu_affinity(config.cpu_affinity, *log);

  // One thread runs everything: tell Asio so it skips its internal locking.
  tickrelay::net::io_context ioc(1);
  tickrelay::fanout::RelayCounters counters;
  tickrelay::service::SystemdNotifier notifier;
  tickrelay::relay::App app(ioc, config, *log, counters);
  try {
    app.start();
  } catch (const std::exception& e) {
    log->error("start failed reason=\"{}\"", e.what());
    return 1;
  }
  tickrelay::service::Supervisor supervisor(ioc, app, config_path, notifier, *log);
  supervisor.start();
  log->info("tickrelayd {} ready pid={}", TICKRELAY_VERSION, ::getpid());
  notifier.ready();
  ioc.run();
  return 0;
}
