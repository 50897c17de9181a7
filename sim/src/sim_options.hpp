#pragma once
// tickrelay-sim's command line as a plain struct, and its parser.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "fault_plan.hpp"
#include "sim_types.hpp"
#include "symbol_list.hpp"

namespace tickrelay::sim {

struct SimOptions {
  // Binance's spot port, on loopback: the simulator is a local stand-in and
  // listens elsewhere only when asked. Port 0 = any free port.
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 9443;
  // TLS with these PEM files, or plain WebSocket when `plain`; exactly one.
  std::string tls_cert_file;
  std::string tls_key_file;
  bool plain = false;
  // --symbols-file then --symbols, merged; btcusdt,ethusdt when neither is
  // given (the two pairs every Binance client example uses).
  SymbolList symbols;
  // Events per second over all subscribed streams; 0 = paused. 1000/s is a
  // lively demo that any machine sustains.
  std::uint64_t rate = 1000;
  // Fixed by default so two runs produce the same prices and ids.
  std::uint64_t seed = 1;
  // Binance spot pings every 20 s and drops a client silent for 1 min.
  // ping_interval 0 = never ping.
  Micros ping_interval{std::chrono::seconds(20)};
  Micros pong_timeout{std::chrono::seconds(60)};
  // Binance spot's per-connection limit.
  std::size_t max_streams_per_connection = 1024;
  // Price levels a side of each order book (the diff-depth streams and the
  // REST snapshots); at most 5000, Binance's largest spot snapshot, so a
  // snapshot can always hold the whole book.
  std::size_t book_levels = 1000;
  // Request weight a client may use per UTC minute on each REST API; unset:
  // Binance's own, 6000 on spot and 2400 on futures.
  std::optional<std::uint64_t> rest_weight_limit;
  // Each REST answer is sent this late (taken at once): lets tests make a
  // snapshot arrive after the events that followed it.
  Micros rest_delay{0};
  // spdlog level name: trace, debug, info, warn, error, critical, off.
  std::string log_level = "info";
  // Every fault flag, and --max-connection-age (faults.max_connection_age).
  FaultSettings faults;
};

struct SimOptionsResult {
  std::optional<SimOptions> options;  // set when the simulator should run
  int exit_code = 0;                  // otherwise: 0 after --help/--version, 2 on a usage error
  std::string message;                // help or version text (stdout), or the error (stderr)
};

// Never throws; unreadable or invalid symbol files are usage errors naming
// the file and line.
SimOptionsResult parse_sim_options(int argc, const char* const* argv);

}  // namespace tickrelay::sim
