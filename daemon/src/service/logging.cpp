#include "service/logging.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

#include "service/journald_sink.hpp"

namespace tickrelay::service {

bool under_systemd() {
  // systemd sets JOURNAL_STREAM when stdout/stderr go to the journal.
  const char* stream = std::getenv("JOURNAL_STREAM");
  return stream != nullptr && *stream != '\0';
}

std::shared_ptr<spdlog::logger> make_logger(const std::string& name, const config::LogConfig& config) {
  const bool journald = config.target == "journald" || (config.target == "auto" && under_systemd());
  std::shared_ptr<spdlog::sinks::sink> sink;
  if (journald) {
    sink = std::make_shared<JournaldSink>(name);
  } else {
    sink = std::make_shared<spdlog::sinks::stderr_sink_st>();
    sink->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %n: %v");
  }
  auto logger = std::make_shared<spdlog::logger>(name, std::move(sink));
  apply_log_level(*logger, config.level);
  // Warnings and errors reach the output at once; info may wait for a buffer.
  logger->flush_on(spdlog::level::info);
  return logger;
}

void apply_log_level(spdlog::logger& logger, const std::string& level) {
  logger.set_level(spdlog::level::from_str(level));
}

}  // namespace tickrelay::service
