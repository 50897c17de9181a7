#pragma once
// Builds the process's logger from its LogConfig. Under systemd, lines go to
// journald with structured fields (PRIORITY, and each key=value of the line
// as an upper-case field: UPSTREAM=, PEER=, REASON=...); otherwise to stderr.
#include <memory>
#include <string>

namespace spdlog {
class logger;
}

namespace tickrelay::observe {

struct LogConfig {
  std::string level = "info";
  std::string target = "auto";  // auto: journald under systemd, else stderr
};

// True when systemd started this process with its journal attached: our
// stderr is the stream JOURNAL_STREAM names.
bool under_systemd();

std::shared_ptr<spdlog::logger> make_logger(const std::string& name, const LogConfig& config);

// Applies a reloaded level; the sink stays.
void apply_log_level(spdlog::logger& logger, const std::string& level);

}  // namespace tickrelay::observe
