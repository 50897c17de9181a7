#pragma once
// Addresses as configs and command lines write them: "host:port", with
// brackets around an IPv6 host ("[::1]:8765").
#include <string>
#include <string_view>

#include "tickrelay/wire/asio.hpp"

namespace tickrelay::wire {

// Splits "host:port" / "[v6]:port"; false if malformed (nothing written).
bool split_host_port(std::string_view text, std::string& host, unsigned short& port);

// An IP endpoint from "IP:PORT"; throws std::runtime_error saying what is
// wrong (no name lookup: listening addresses are literal).
tcp::endpoint parse_endpoint(const std::string& text);

}  // namespace tickrelay::wire
