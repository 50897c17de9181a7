#pragma once
// The handshake's request target as Binance defines it: /ws/<s1>/<s2> for raw
// events, /stream?streams=<s1>/<s2> for combined envelopes. USD-M futures'
// /market and /public prefixes are accepted so a program keeps its paths when
// only its base URL changes.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tickrelay::fanout {

struct RequestTarget {
  std::string prefix;                // "", "/market" or "/public"
  bool combined = false;             // /stream: envelopes
  std::vector<std::string> streams;  // as asked, duplicates removed
  bool microsecond = false;          // timeUnit=MICROSECOND
  std::string token;                 // token=... (access token)
};

// nullopt with `error` set when the target is not a stream endpoint.
std::optional<RequestTarget> parse_request_target(std::string_view target, std::string& error);

}  // namespace tickrelay::fanout
