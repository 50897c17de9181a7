#include "journald_sink.hpp"

#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include <cctype>

namespace tickrelay::observe {
namespace {

int syslog_priority(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::critical: return 2;
    case spdlog::level::err: return 3;
    case spdlog::level::warn: return 4;
    case spdlog::level::info: return 6;
    default: return 7;
  }
}

bool is_key_char(char c) {
  return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_';
}

}  // namespace

std::vector<std::string> JournaldSink::fields_for(std::string_view message, int priority,
                                                  const std::string& identifier) {
  std::vector<std::string> fields;
  fields.push_back("MESSAGE=" + std::string(message));
  fields.push_back("PRIORITY=" + std::to_string(priority));
  fields.push_back("SYSLOG_IDENTIFIER=" + identifier);
  // key=value or key="value with spaces", keys lower-case as we write them.
  std::size_t i = 0;
  while (i < message.size()) {
    const auto eq = message.find('=', i);
    if (eq == std::string_view::npos) break;
    std::size_t k = eq;
    while (k > i && is_key_char(message[k - 1])) --k;
    if (k == eq || (k > 0 && message[k - 1] != ' ') || std::isdigit(static_cast<unsigned char>(message[k]))) {
      i = eq + 1;
      continue;
    }
    std::string value;
    std::size_t end = eq + 1;
    if (end < message.size() && message[end] == '"') {
      const auto close = message.find('"', end + 1);
      value = std::string(
          message.substr(end + 1, close == std::string_view::npos ? std::string_view::npos : close - end - 1));
      end = close == std::string_view::npos ? message.size() : close + 1;
    } else {
      const auto space = message.find(' ', end);
      value = std::string(message.substr(end, space == std::string_view::npos ? std::string_view::npos : space - end));
      end = space == std::string_view::npos ? message.size() : space;
    }
    std::string key(message.substr(k, eq - k));
    for (auto& c : key) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    // Journal fields may not start with '_' (those are trusted fields).
    if (key.front() != '_') fields.push_back(key + "=" + value);
    i = end;
  }
  return fields;
}

void JournaldSink::sink_it_(const spdlog::details::log_msg& msg) {
  const auto fields = fields_for(std::string_view(msg.payload.data(), msg.payload.size()), syslog_priority(msg.level),
                                 identifier_);
  std::vector<iovec> iov;
  iov.reserve(fields.size());
  for (const auto& f : fields) iov.push_back(iovec{const_cast<char*>(f.data()), f.size()});
  sd_journal_sendv(iov.data(), static_cast<int>(iov.size()));
}

}  // namespace tickrelay::observe
