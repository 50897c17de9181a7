#pragma once
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "load_options.hpp"
#include "proc_sampler.hpp"
#include "symbol_table.hpp"
#include "target_counts.hpp"

namespace tickrelay::client {

struct LatencySummary {
  std::uint64_t samples = 0;
  double avg_ms = 0, min_ms = 0, p50_ms = 0, p90_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0;
};

// Everything measured about one target, summed over threads: the counts
// (TargetCounts) and what is derived from them.
struct TargetReport : TargetCounts<std::uint64_t> {
  std::string impl;
  std::string url;
  std::uint64_t connections = 0;         // planned
  std::uint64_t connections_up_end = 0;  // still up when the run ended
  double messages_per_second = 0;
  double megabytes_per_second = 0;
  // Market messages per connection, to show unfairness between connections.
  std::uint64_t per_connection_min = 0;
  double per_connection_avg = 0;
  std::uint64_t per_connection_max = 0;
  double per_connection_rate = 0;  // average messages/s of one connection
  double per_connection_megabytes_per_second = 0;
  LatencySummary latency;
  std::string first_error;
  std::optional<pid_t> server_pid;
  ProcessFigures server;
  std::vector<SymbolState> top_movers;

  std::uint64_t errors() const { return connect_errors + drops; }
};

struct RunReport {
  std::string version;
  double duration_seconds = 0;  // measured, after any warm-up
  double warm_up_seconds = 0;   // left out of every figure
  int threads = 1;
  std::string reader;
  ProcessFigures client;
  std::vector<TargetReport> targets;
};

// A human table; with several targets side by side, each after the first
// with its ratio to the first.
std::string render_table(const RunReport& report);
// One JSON object holding every field.
std::string render_json(const RunReport& report);
// A header line and one line per target.
std::string render_csv(const RunReport& report);
std::string render_report(const RunReport& report, OutputFormat format);

}  // namespace tickrelay::client
