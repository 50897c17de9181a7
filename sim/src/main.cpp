// tickrelay-sim: a local stand-in for Binance's market-data stream servers,
// for the demo, the tests and the benchmarks.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <iostream>

#include "service/logging.hpp"
#include "sim_options.hpp"
#include "sim_server.hpp"

int main(int argc, char** argv) {
  auto parsed = tickrelay::sim::parse_sim_options(argc, argv);
  if (!parsed.options) {
    (parsed.exit_code == 0 ? std::cout : std::cerr) << parsed.message;
    return parsed.exit_code;
  }
  auto& options = *parsed.options;
  auto log = tickrelay::service::make_logger("tickrelay-sim", {options.log_level, "stderr"});
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
  // On SIGINT or SIGTERM: clients get close 1001 and a second to answer it,
  // then are dropped. The loop stops once no session is left, so none
  // outlives the server it refers to; if one still has not ended after
  // kGiveUp, the server is left to the process's exit rather than freed
  // under it.
  constexpr auto kAnswerClose = std::chrono::seconds(1);
  constexpr auto kGiveUp = std::chrono::seconds(3);
  boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
  boost::asio::steady_timer drain(ioc);
  std::chrono::steady_clock::time_point stopping;
  bool aborted = false;
  bool abandoned = false;
  std::function<void()> wait_for_clients = [&] {
    const auto waited = std::chrono::steady_clock::now() - stopping;
    if (server->idle() || waited >= kGiveUp) {
      abandoned = !server->idle();
      ioc.stop();
      return;
    }
    if (waited >= kAnswerClose && !aborted) {
      aborted = true;
      server->abort_clients();
    }
    drain.expires_after(std::chrono::milliseconds(20));
    drain.async_wait([&](tickrelay::error_code ec) {
      if (!ec) wait_for_clients();
    });
  };
  signals.async_wait([&](tickrelay::error_code ec, int) {
    if (ec) return;
    stopping = std::chrono::steady_clock::now();
    server->stop();
    wait_for_clients();
  });
  ioc.run();
  if (abandoned) static_cast<void>(server.release());
  return 0;
}
