#pragma once
// A spdlog sink writing to the systemd journal with structured fields: the
// message, its priority, and every key=value pair in the line as a field
// (upstream=x becomes UPSTREAM=x), so `journalctl UPSTREAM=usdm-futures`
// finds one upstream's story. One thread logs, so no mutex.
// Not spdlog's systemd_sink: in spdlog 1.10 it sends only MESSAGE, PRIORITY,
// SYSLOG_IDENTIFIER and CODE_FILE/CODE_LINE/CODE_FUNC, none of the key=value
// fields that deploy/README.md tells operators to filter on.
#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>

#include <string>
#include <vector>

namespace tickrelay::observe {

class JournaldSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  explicit JournaldSink(std::string identifier) : identifier_(std::move(identifier)) {}

  // The journal fields one line becomes (exposed for tests).
  static std::vector<std::string> fields_for(std::string_view message, int priority, const std::string& identifier);

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override {}

 private:
  std::string identifier_;
};

}  // namespace tickrelay::observe
