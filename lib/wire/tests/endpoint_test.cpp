#include "tickrelay/wire/endpoint.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <string_view>

namespace tickrelay::wire {
namespace {

TEST(SplitHostPort, Accepted) {
  struct Case {
    std::string_view text;
    std::string_view host;
    unsigned short port;
  };
  for (const auto& c :
       {Case{"0.0.0.0:8765", "0.0.0.0", 8765}, Case{"127.0.0.1:9465", "127.0.0.1", 9465},
        Case{"[::1]:8765", "::1", 8765}, Case{"[::]:0", "::", 0}, Case{"localhost:65535", "localhost", 65535}}) {
    std::string host;
    unsigned short port = 1;
    EXPECT_TRUE(split_host_port(c.text, host, port)) << c.text;
    EXPECT_EQ(host, c.host) << c.text;
    EXPECT_EQ(port, c.port) << c.text;
  }
}

TEST(SplitHostPort, Refused) {
  for (std::string_view text : {"", "8765", ":8765", "host:", "host:65536", "host:-1", "host:80x", "host: 80",
                                "[::1:80", "[::1]", "host:99999999999"}) {
    std::string host = "unchanged";
    unsigned short port = 7;
    EXPECT_FALSE(split_host_port(text, host, port)) << "'" << text << "'";
    EXPECT_EQ(host, "unchanged") << text;
    EXPECT_EQ(port, 7) << text;
  }
}

TEST(ParseEndpoint, LiteralAddressesOnly) {
  EXPECT_EQ(parse_endpoint("127.0.0.1:9465"), tcp::endpoint(net::ip::make_address("127.0.0.1"), 9465));
  EXPECT_EQ(parse_endpoint("[::1]:8765"), tcp::endpoint(net::ip::make_address("::1"), 8765));
  EXPECT_THROW(parse_endpoint("localhost:80"), std::runtime_error);
  EXPECT_THROW(parse_endpoint("127.0.0.1"), std::runtime_error);
}

}  // namespace
}  // namespace tickrelay::wire
