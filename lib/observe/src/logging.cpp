#include "tickrelay/observe/logging.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "journald_sink.hpp"

namespace tickrelay::observe {

bool under_systemd() {
  // systemd sets JOURNAL_STREAM=<device>:<inode> of the stream it connects
  // stdout/stderr to. Children inherit the variable even when their stderr
  // goes elsewhere (a shell started from a service, a test runner), so it
  // counts only while it still names our stderr, as systemd.exec(5) advises.
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (stream == nullptr || *stream == '\0') return false;
  unsigned long long device = 0;
  unsigned long long inode = 0;
  if (std::sscanf(stream, "%llu:%llu", &device, &inode) != 2) return false;
  struct stat st {};
  if (::fstat(STDERR_FILENO, &st) != 0) return false;
  return static_cast<unsigned long long>(st.st_dev) == device && static_cast<unsigned long long>(st.st_ino) == inode;
}

std::shared_ptr<spdlog::logger> make_logger(const std::string& name, const LogConfig& config) {
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

}  // namespace tickrelay::observe
