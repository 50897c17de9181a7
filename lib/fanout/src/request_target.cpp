#include "tickrelay/fanout/request_target.hpp"

#include <algorithm>
#include <boost/url/parse.hpp>

namespace tickrelay::fanout {
namespace {

void add_stream(RequestTarget& t, std::string_view s) {
  if (s.empty()) return;
  if (std::find(t.streams.begin(), t.streams.end(), s) == t.streams.end()) t.streams.emplace_back(s);
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return (x | 0x20) == (y | 0x20); });
}

}  // namespace

std::optional<RequestTarget> parse_request_target(std::string_view target, std::string& error) {
  const auto url = boost::urls::parse_origin_form(target);
  if (!url) {
    error = "malformed request target";
    return std::nullopt;
  }
  RequestTarget t;
  std::string path = url->path();  // percent-decoded
  for (std::string_view prefix : {"/market", "/public"}) {
    if (path.starts_with(prefix) && (path.size() == prefix.size() || path[prefix.size()] == '/')) {
      t.prefix = prefix;
      path.erase(0, prefix.size());
      break;
    }
  }
  std::string_view streams_param;
  std::string streams_value;
  for (const auto& param : url->params()) {
    if (param.key == "streams") {
      streams_value = param.value;
      streams_param = streams_value;
    } else if (param.key == "timeUnit") {
      if (iequals(param.value, "MICROSECOND"))
        t.microsecond = true;
      else if (!iequals(param.value, "MILLISECOND")) {
        error = "timeUnit must be MILLISECOND or MICROSECOND";
        return std::nullopt;
      }
    } else if (param.key == "token") {
      t.token = param.value;
    }
  }
  auto split = [&t](std::string_view list) {
    while (!list.empty()) {
      const auto slash = list.find('/');
      add_stream(t, list.substr(0, slash));
      if (slash == std::string_view::npos) break;
      list.remove_prefix(slash + 1);
    }
  };
  if (path == "/ws" || path == "/ws/" || path.starts_with("/ws/")) {
    split(std::string_view(path).substr(std::min<std::size_t>(path.size(), 4)));
    return t;
  }
  if (path == "/stream" || path == "/stream/") {
    t.combined = true;
    split(streams_param);
    return t;
  }
  error = "unknown path: use /ws/<stream> or /stream?streams=<stream>/<stream>";
  return std::nullopt;
}

}  // namespace tickrelay::fanout
