#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "target_spec.hpp"

namespace tickrelay::client {

enum class OutputFormat { table, json, csv };
// How to read E: by the URL and the value's magnitude, or forced.
enum class TimeUnit { automatic, milliseconds, microseconds };
// raw (the default): Beast's HTTP for the upgrade, then server frames read
// straight from the socket (through OpenSSL for wss://); beast: Beast's
// websocket::stream, kept to compare against and as a fallback.
enum class ReaderKind { raw, beast };

// Everything the command line says, checked; built without side effects
// beyond reading --symbols-file, so tests parse command lines directly.
struct LoadOptions {
  std::vector<TargetSpec> targets;
  std::vector<std::string> streams;
  bool subscribe = false;
  std::string ca_file;
  bool insecure = false;

  int connections = 1;
  double ramp_up_seconds = 0;
  // Seconds from the start whose messages are processed but left out of the
  // report (counts, latency, CPU and memory): the connections open and the
  // server settles first; --duration is measured after it.
  double warm_up_seconds = 0;
  // Neither --duration nor --messages: a 10 s run, long enough for steady
  // figures and short enough not to surprise anyone who forgot the flag.
  double duration_seconds = 10;
  bool duration_set = false;
  std::uint64_t max_messages = 0;  // 0: no limit
  int threads = 1;
  std::vector<int> cpus;
  bool reconnect = false;

  OutputFormat format = OutputFormat::table;
  std::string output_file;
  bool quiet = false;
  double alert_pct = 0;  // 0: no alerts
  std::size_t top_movers = 10;

  std::optional<unsigned short> metrics_port;
  std::string metrics_listen = "127.0.0.1";

  TimeUnit time_unit = TimeUnit::automatic;
  bool kline_gaps = true;
  ReaderKind reader = ReaderKind::raw;
};

struct ParseOutcome {
  std::optional<LoadOptions> options;  // set when the program should run
  int exit_code = 0;                   // otherwise: 0 (help, version) or 2 (usage error)
  std::string out;                     // help or version text, for stdout
  std::string err;                     // usage error, for stderr
};

ParseOutcome parse_load_options(int argc, const char* const* argv);
ParseOutcome parse_load_options(const std::vector<std::string>& args);  // args[0] is the program

// "0,2-3" into {0, 2, 3}; throws std::invalid_argument.
std::vector<int> parse_cpu_list(const std::string& list);

}  // namespace tickrelay::client
