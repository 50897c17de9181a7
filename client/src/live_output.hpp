#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace tickrelay::client {

// One target's figures for the last second.
struct LiveFigures {
  std::string impl;
  std::uint64_t connections_up = 0;
  std::uint64_t connections_planned = 0;
  double messages_per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  std::uint64_t errors = 0;
};

// The once-a-second status line and alert lines. On a terminal the status is
// one line rewritten in place; elsewhere (a pipe, a log file) it is a plain
// line per second so the log reads as a time series.
class LiveOutput {
 public:
  // quiet: no status lines (alerts still print: they were asked for).
  LiveOutput(std::FILE* out, bool terminal, bool quiet) : out_(out), terminal_(terminal), quiet_(quiet) {}

  void status(double elapsed_seconds, const std::vector<LiveFigures>& targets);
  void alert(const std::string& line);
  // Ends a rewritten status line so the report starts on a fresh line.
  void finish();

  static std::string format_status(double elapsed_seconds, const std::vector<LiveFigures>& targets);

 private:
  std::FILE* out_;
  bool terminal_;
  bool quiet_;
  bool line_open_ = false;
};

}  // namespace tickrelay::client
