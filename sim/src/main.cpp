// tickrelay-sim: a local stand-in for Binance's market-data stream servers,
// for the demo, the tests and the benchmarks.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <boost/asio/signal_set.hpp>
#include <iostream>

#include "sim_options.hpp"
#include "sim_server.hpp"
#include "tickrelay/observe/logging.hpp"

int main(int argc, char** argv) {
  auto parsed = tickrelay::sim::parse_sim_options(argc, argv);
  if (!parsed.options) {
    (parsed.exit_code == 0 ? std::cout : std::cerr) << parsed.message;
    return parsed.exit_code;
  }
  auto& options = *parsed.options;
  auto log = tickrelay::observe::make_logger("tickrelay-sim", {options.log_level, "stderr"});
  ::signal(SIGPIPE, SIG_IGN);
  tickrelay::net::io_context ioc(1);
  std::unique_ptr<tickrelay::sim::SimServer> server;
  try {
    server = std::make_unique<tickrelay::sim::SimServer>(ioc, options, *log);
    server->start();
  } catch (const std::exception& e) {
    std::cerr << "tickrelay-sim: " << e.what() << "\n";
    return 1;
  }
  const auto endpoint = server->local_endpoint();
  // One line on stdout for scripts and tests that asked for port 0.
  std::cout << "listening " << endpoint.address().to_string() << ":" << endpoint.port() << " "
            << (options.plain ? "ws" : "wss") << std::endl;
  log->info("tickrelay-sim ready symbols={} rate={}/s", options.symbols.size(), options.rate);
  // On SIGINT or SIGTERM: clients get close 1001, and the loop stops once
  // none is left, so no session outlives the server it refers to. If some
  // still have not ended when the server gives up on them, the server is
  // left to the process's exit rather than freed under them.
  boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
  bool abandoned = false;
  signals.async_wait([&](tickrelay::error_code ec, int) {
    if (ec) return;
    server->stop([&](std::size_t left) {
      abandoned = left != 0;
      ioc.stop();
    });
  });
  ioc.run();
  if (abandoned) static_cast<void>(server.release());
  return 0;
}
