#pragma once
// The handshake's request target as Binance defines it: /ws/<s1>/<s2> for raw
// events, /stream?streams=<s1>/<s2> for combined envelopes. USD-M futures'
// /market, /public and /private prefixes are accepted so a program keeps its
// paths when only its base URL changes.
//
// Two steps, so that a request is refused before any work per stream name:
// parse_request_target reads the path and the query (linear in the target's
// length), the caller checks the token, then split_streams counts the names
// against the per-client cap before it copies any.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tickrelay::fanout {

struct RequestTarget {
  std::string prefix;                // "", "/market", "/public" or "/private"
  bool combined = false;             // /stream: envelopes
  std::string stream_list;           // the names as sent, '/'-separated, percent-decoded; until split_streams
  std::vector<std::string> streams;  // as asked, duplicates removed, once split_streams has run
  bool microsecond = false;          // timeUnit=MICROSECOND
  std::string token;                 // token=... (access token)
};

// nullopt with `error` set when the target is not a stream endpoint.
std::optional<RequestTarget> parse_request_target(std::string_view target, std::string& error);

// Moves `stream_list` into `streams`, empty names and duplicates removed,
// first occurrence first. A list of more than `max_streams` names, counting
// duplicates (no client needs to repeat a name past the cap), is refused
// before any name is copied: false, with `error` set.
bool split_streams(RequestTarget& target, std::size_t max_streams, std::string& error);

}  // namespace tickrelay::fanout
