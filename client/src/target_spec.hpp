#pragma once
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace tickrelay::client {

// One server to measure, resolved from its URL and the stream options: where
// to connect, what to ask for in the upgrade request, and what to SUBSCRIBE
// to afterwards.
struct TargetSpec {
  std::string url;
  std::string impl;  // label in reports and metrics
  std::optional<pid_t> server_pid;
  bool tls = false;
  std::string host;                    // for DNS, SNI and certificate checks
  std::string port;                    // numeric or service name
  std::string host_header;             // host[:port] as sent in Host
  std::string request_target;          // path and query of the upgrade request
  std::vector<std::string> subscribe;  // streams sent in one SUBSCRIBE
  // The URL asks for timeUnit=MICROSECOND, so E is in microseconds.
  bool url_microseconds = false;
};

// Builds the spec. `streams` (from --streams or --symbols-file) go into
// SUBSCRIBE when `subscribe` is set, else into the path: /stream?streams=a/b
// when the URL's path ends in /stream, /ws/a/b otherwise. Throws
// std::invalid_argument with a message for the user on a bad URL or when
// streams are given both in the URL and separately.
TargetSpec make_target_spec(const std::string& url, std::string impl, std::optional<pid_t> server_pid,
                            const std::vector<std::string>& streams, bool subscribe);

// Binance's {"method":"SUBSCRIBE","params":[...],"id":1}; one request for all
// streams, since Binance counts every incoming message against a 5/s limit.
std::string make_subscribe_request(const std::vector<std::string>& streams);

}  // namespace tickrelay::client
