#include "live_output.hpp"

namespace tickrelay::client {

std::string LiveOutput::format_status(double elapsed_seconds, const std::vector<LiveFigures>& targets) {
  std::string line;
  char buf[256];
  std::snprintf(buf, sizeof buf, "[%6.1fs]", elapsed_seconds);
  line += buf;
  for (const auto& t : targets) {
    std::snprintf(buf, sizeof buf, " %s: conns %llu/%llu  %.0f msg/s  p50 %.3f ms  p99 %.3f ms  errors %llu",
                  t.impl.c_str(), static_cast<unsigned long long>(t.connections_up),
                  static_cast<unsigned long long>(t.connections_planned), t.messages_per_second, t.p50_ms, t.p99_ms,
                  static_cast<unsigned long long>(t.errors));
    if (targets.size() > 1 && &t != &targets.front()) line += " |";
    line += buf;
  }
  return line;
}

void LiveOutput::status(double elapsed_seconds, const std::vector<LiveFigures>& targets) {
  if (quiet_) return;
  const std::string line = format_status(elapsed_seconds, targets);
  if (terminal_) {
    // Carriage return and erase-to-end-of-line: the line is rewritten.
    std::fprintf(out_, "\r%s\x1b[K", line.c_str());
    line_open_ = true;
  } else {
    std::fprintf(out_, "%s\n", line.c_str());
  }
  std::fflush(out_);
}

void LiveOutput::alert(const std::string& line) {
  if (line_open_) {
    std::fputs("\r\x1b[K", out_);
    line_open_ = false;
  }
  std::fprintf(out_, "%s\n", line.c_str());
  std::fflush(out_);
}

void LiveOutput::finish() {
  if (line_open_) {
    std::fputc('\n', out_);
    line_open_ = false;
    std::fflush(out_);
  }
}

}  // namespace tickrelay::client
