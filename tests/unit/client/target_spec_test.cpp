#include "target_spec.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace tickrelay::client {
namespace {

TargetSpec spec(const std::string& url, const std::vector<std::string>& streams = {}, bool subscribe = false) {
  return make_target_spec(url, "impl", std::nullopt, streams, subscribe);
}

TEST(TargetSpec, StreamsInTheUrlAreUsedAsGiven) {
  const auto s = spec("wss://stream.binance.com:9443/stream?streams=btcusdt@trade/ethusdt@trade&timeUnit=MICROSECOND");
  EXPECT_TRUE(s.tls);
  EXPECT_EQ(s.host, "stream.binance.com");
  EXPECT_EQ(s.port, "9443");
  EXPECT_EQ(s.host_header, "stream.binance.com:9443");
  EXPECT_EQ(s.request_target, "/stream?streams=btcusdt@trade/ethusdt@trade&timeUnit=MICROSECOND");
  EXPECT_TRUE(s.url_microseconds);
  EXPECT_TRUE(s.subscribe.empty());
}

TEST(TargetSpec, DefaultPortsAndMillisecondsByDefault) {
  EXPECT_EQ(spec("ws://localhost/ws/btcusdt@trade").port, "80");
  EXPECT_EQ(spec("wss://localhost/ws/btcusdt@trade").port, "443");
  EXPECT_FALSE(spec("ws://localhost/ws/btcusdt@trade").url_microseconds);
  EXPECT_TRUE(spec("ws://localhost/ws/x?timeUnit=microsecond").url_microseconds);
}

TEST(TargetSpec, StreamsGoIntoTheRawPath) {
  EXPECT_EQ(spec("ws://127.0.0.1:9000", {"a@trade", "b@trade"}).request_target, "/ws/a@trade/b@trade");
  EXPECT_EQ(spec("ws://127.0.0.1:9000/ws", {"a@trade"}).request_target, "/ws/a@trade");
  EXPECT_EQ(spec("ws://127.0.0.1:9000/ws/", {"a@trade"}).request_target, "/ws/a@trade");
  EXPECT_EQ(spec("wss://fstream.binance.com/market", {"a@kline_1h"}).request_target, "/market/ws/a@kline_1h");
  EXPECT_EQ(spec("ws://h/?timeUnit=MICROSECOND", {"a@trade"}).request_target, "/ws/a@trade?timeUnit=MICROSECOND");
}

TEST(TargetSpec, StreamsGoIntoTheCombinedQuery) {
  EXPECT_EQ(spec("ws://h:1/stream", {"a@trade", "b@trade"}).request_target, "/stream?streams=a@trade/b@trade");
  EXPECT_EQ(spec("wss://fstream.binance.com/market/stream?timeUnit=MICROSECOND", {"a@trade"}).request_target,
            "/market/stream?streams=a@trade&timeUnit=MICROSECOND");
}

TEST(TargetSpec, SubscribeKeepsThePathAndListsTheStreams) {
  const auto s = spec("ws://h:1", {"a@trade", "b@trade"}, true);
  EXPECT_EQ(s.request_target, "/ws");
  EXPECT_EQ(s.subscribe, (std::vector<std::string>{"a@trade", "b@trade"}));
  const auto request = boost::json::parse(make_subscribe_request(s.subscribe)).as_object();
  EXPECT_EQ(request.at("method").as_string(), "SUBSCRIBE");
  EXPECT_EQ(request.at("params").as_array().size(), 2u);
  EXPECT_EQ(request.at("id").as_int64(), 1);
}

TEST(TargetSpec, Ipv6HostKeepsBracketsOnlyInHost) {
  const auto s = spec("ws://[::1]:9000/ws/a@trade");
  EXPECT_EQ(s.host, "::1");
  EXPECT_EQ(s.host_header, "[::1]:9000");
}

TEST(TargetSpec, BadUrlsAreRefusedWithAReason) {
  EXPECT_THROW(spec("http://h/ws/a"), std::invalid_argument);
  EXPECT_THROW(spec("not a url"), std::invalid_argument);
  EXPECT_THROW(spec("ws:///ws/a"), std::invalid_argument);
  EXPECT_THROW(spec("ws://h/ws/a@trade", {"b@trade"}), std::invalid_argument);
  EXPECT_THROW(spec("ws://h/stream?streams=a@trade", {"b@trade"}), std::invalid_argument);
}

}  // namespace
}  // namespace tickrelay::client
