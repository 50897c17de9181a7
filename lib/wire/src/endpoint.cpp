#include "tickrelay/wire/endpoint.hpp"

#include <charconv>
#include <stdexcept>

namespace tickrelay::wire {

bool split_host_port(std::string_view text, std::string& host, unsigned short& port) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view h = text.substr(0, colon);
  if (h.front() == '[') {
    if (h.back() != ']') return false;
    h = h.substr(1, h.size() - 2);
  }
  const auto p = text.substr(colon + 1);
  unsigned value = 0;
  const auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (ec != std::errc() || ptr != p.data() + p.size() || value > 65535) return false;
  host = std::string(h);
  port = static_cast<unsigned short>(value);
  return true;
}

tcp::endpoint parse_endpoint(const std::string& text) {
  std::string host;
  unsigned short port = 0;
  error_code ec;
  if (!split_host_port(text, host, port)) throw std::runtime_error("not HOST:PORT: " + text);
  const auto address = net::ip::make_address(host, ec);
  if (ec) throw std::runtime_error("not an IP address: " + host);
  return {address, port};
}

}  // namespace tickrelay::wire
