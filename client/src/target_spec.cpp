#include "target_spec.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace tickrelay::client {
namespace {

std::string join(const std::vector<std::string>& items, char separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out.push_back(separator);
    out += item;
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

TargetSpec make_target_spec(const std::string& url, std::string impl, std::optional<pid_t> server_pid,
                            const std::vector<std::string>& streams, bool subscribe) {
  const auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    throw std::invalid_argument("bad URL " + url + ": " + parsed.error().message());
  }
  const boost::urls::url_view view = *parsed;
  TargetSpec spec;
  spec.url = url;
  spec.impl = std::move(impl);
  spec.server_pid = server_pid;
  const std::string scheme(view.scheme());
  if (scheme == "wss") {
    spec.tls = true;
  } else if (scheme != "ws") {
    throw std::invalid_argument("URL " + url + " must start with ws:// or wss://");
  }
  if (!view.has_authority() || view.host().empty()) {
    throw std::invalid_argument("URL " + url + " has no host");
  }
  // host_address() drops the brackets of an IPv6 literal, as DNS and TLS want.
  spec.host = view.host_address();
  spec.port = view.has_port() ? std::string(view.port()) : (spec.tls ? "443" : "80");
  // encoded_host() keeps an IPv6 literal's brackets, as Host needs.
  spec.host_header = std::string(view.encoded_host()) + (view.has_port() ? ":" + spec.port : "");

  bool url_has_streams = false;
  for (const auto& param : view.params()) {
    if (iequals(param.key, "timeUnit") && iequals(param.value, "MICROSECOND")) spec.url_microseconds = true;
    if (param.key == "streams" && !param.value.empty()) url_has_streams = true;
  }
  std::string path(view.encoded_path());
  if (path.find("/ws/") != std::string::npos && !path.ends_with("/ws/")) url_has_streams = true;
  const std::string query(view.encoded_query());

  if (streams.empty() || subscribe) {
    // Binance accepts a bare /ws for connections that subscribe later.
    if (path.empty() || path == "/") path = subscribe ? "/ws" : "/";
    spec.request_target = path + (view.has_query() ? "?" + query : "");
    spec.subscribe = subscribe ? streams : std::vector<std::string>{};
    return spec;
  }
  if (url_has_streams) {
    throw std::invalid_argument("URL " + url +
                                " already names streams; drop --streams/--symbols-file or add --subscribe");
  }
  while (path.ends_with('/')) path.pop_back();
  if (path.ends_with("/stream")) {
    spec.request_target = path + "?streams=" + join(streams, '/') + (query.empty() ? "" : "&" + query);
  } else {
    if (!path.ends_with("/ws")) path += "/ws";
    spec.request_target = path + "/" + join(streams, '/') + (query.empty() ? "" : "?" + query);
  }
  return spec;
}

std::string make_subscribe_request(const std::vector<std::string>& streams) {
  boost::json::array params;
  for (const auto& stream : streams) params.emplace_back(stream);
  boost::json::object request;
  request["method"] = "SUBSCRIBE";
  request["params"] = std::move(params);
  request["id"] = 1;
  return boost::json::serialize(request);
}

}  // namespace tickrelay::client
