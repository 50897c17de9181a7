#include "tickrelay/fanout/request_target.hpp"

#include <algorithm>
#include <boost/url/parse.hpp>
#include <string>
#include <unordered_set>
#include <utility>

namespace tickrelay::fanout {
namespace {

// Calls `f` with each non-empty name of a '/'-separated list, in order.
template <class F>
void for_each_name(std::string_view list, F&& f) {
  while (!list.empty()) {
    const auto slash = list.find('/');
    if (slash != 0) f(list.substr(0, slash));
    if (slash == std::string_view::npos) break;
    list.remove_prefix(slash + 1);
  }
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
  for (std::string_view prefix : {"/market", "/public", "/private"}) {
    if (path.starts_with(prefix) && (path.size() == prefix.size() || path[prefix.size()] == '/')) {
      t.prefix = prefix;
      path.erase(0, prefix.size());
      break;
    }
  }
  std::string streams_value;
  for (const auto& param : url->params()) {
    if (param.key == "streams") {
      streams_value = param.value;
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
  if (path == "/ws" || path == "/ws/" || path.starts_with("/ws/")) {
    t.stream_list = path.substr(std::min<std::size_t>(path.size(), 4));
    return t;
  }
  if (path == "/stream" || path == "/stream/") {
    t.combined = true;
    t.stream_list = std::move(streams_value);
    return t;
  }
  error = "unknown path: use /ws/<stream> or /stream?streams=<stream>/<stream>";
  return std::nullopt;
}

bool split_streams(RequestTarget& target, std::size_t max_streams, std::string& error) {
  std::size_t names = 0;
  for_each_name(target.stream_list, [&names](std::string_view) { ++names; });
  if (names > max_streams) {
    error = "too many streams: at most " + std::to_string(max_streams) + " per connection";
    return false;
  }
  std::vector<std::string> streams;
  streams.reserve(names);
  // Views into stream_list, which stays put until the end.
  std::unordered_set<std::string_view> seen;
  seen.reserve(names);
  for_each_name(target.stream_list, [&](std::string_view name) {
    if (seen.insert(name).second) streams.emplace_back(name);
  });
  target.streams = std::move(streams);
  target.stream_list.clear();
  target.stream_list.shrink_to_fit();
  return true;
}

}  // namespace tickrelay::fanout
