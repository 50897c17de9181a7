#include "tickrelay/fanout/request_target.hpp"

#include <gtest/gtest.h>

namespace tickrelay::fanout {
namespace {

using Streams = std::vector<std::string>;

RequestTarget parse_ok(std::string_view target) {
  std::string error;
  auto t = parse_request_target(target, error);
  EXPECT_TRUE(t.has_value()) << target << ": " << error;
  return t ? *t : RequestTarget{};
}

std::string parse_error(std::string_view target) {
  std::string error;
  const auto t = parse_request_target(target, error);
  EXPECT_FALSE(t.has_value()) << target;
  EXPECT_FALSE(error.empty()) << target;
  return error;
}

TEST(RequestTarget, RawStreams) {
  const auto t = parse_ok("/ws/btcusdt@trade/ethusdt@kline_1h");
  EXPECT_FALSE(t.combined);
  EXPECT_EQ(t.prefix, "");
  EXPECT_EQ(t.streams, (Streams{"btcusdt@trade", "ethusdt@kline_1h"}));
  EXPECT_FALSE(t.microsecond);
  EXPECT_EQ(t.token, "");
}

TEST(RequestTarget, SingleRawStream) {
  EXPECT_EQ(parse_ok("/ws/btcusdt@trade").streams, (Streams{"btcusdt@trade"}));
  EXPECT_EQ(parse_ok("/ws/!miniTicker@arr").streams, (Streams{"!miniTicker@arr"}));
}

TEST(RequestTarget, BareWsHasNoStreams) {
  for (auto target : {"/ws", "/ws/"}) {
    const auto t = parse_ok(target);
    EXPECT_FALSE(t.combined) << target;
    EXPECT_TRUE(t.streams.empty()) << target;
  }
}

TEST(RequestTarget, CombinedStreams) {
  const auto t = parse_ok("/stream?streams=btcusdt@trade/ethusdt@kline_1h/!miniTicker@arr");
  EXPECT_TRUE(t.combined);
  EXPECT_EQ(t.streams, (Streams{"btcusdt@trade", "ethusdt@kline_1h", "!miniTicker@arr"}));
}

TEST(RequestTarget, CombinedWithoutStreams) {
  for (auto target : {"/stream", "/stream/", "/stream?streams=", "/stream?other=1"}) {
    const auto t = parse_ok(target);
    EXPECT_TRUE(t.combined) << target;
    EXPECT_TRUE(t.streams.empty()) << target;
  }
}

TEST(RequestTarget, PercentEncodedAt) {
  EXPECT_EQ(parse_ok("/ws/btcusdt%40trade/ethusdt%40aggTrade").streams, (Streams{"btcusdt@trade", "ethusdt@aggTrade"}));
  EXPECT_EQ(parse_ok("/stream?streams=btcusdt%40trade%2Fethusdt%40depth").streams,
            (Streams{"btcusdt@trade", "ethusdt@depth"}));
  EXPECT_EQ(parse_ok("/stream?streams=%21miniTicker%40arr").streams, (Streams{"!miniTicker@arr"}));
}

TEST(RequestTarget, TimeUnitAnyCase) {
  for (auto unit : {"MICROSECOND", "microsecond", "MicroSecond", "mIcRoSeCoNd"}) {
    const auto t = parse_ok(std::string("/stream?streams=btcusdt@trade&timeUnit=") + unit);
    EXPECT_TRUE(t.microsecond) << unit;
  }
  for (auto unit : {"MILLISECOND", "millisecond", "Millisecond"}) {
    const auto t = parse_ok(std::string("/ws/btcusdt@trade?timeUnit=") + unit);
    EXPECT_FALSE(t.microsecond) << unit;
  }
  EXPECT_TRUE(parse_ok("/ws/btcusdt@trade?timeUnit=MICROSECOND").microsecond);
  EXPECT_TRUE(parse_ok("/stream?timeUnit=microsecond&streams=a@trade").microsecond);
}

TEST(RequestTarget, BadTimeUnit) {
  for (auto target : {"/ws/a@trade?timeUnit=NANOSECOND", "/ws/a@trade?timeUnit=", "/ws/a@trade?timeUnit=MICRO",
                      "/stream?streams=a@trade&timeUnit=MICROSECONDS"}) {
    EXPECT_NE(parse_error(target).find("timeUnit"), std::string::npos) << target;
  }
}

TEST(RequestTarget, Token) {
  EXPECT_EQ(parse_ok("/ws/btcusdt@trade?token=s3cret").token, "s3cret");
  EXPECT_EQ(parse_ok("/stream?streams=a@trade&token=abc%20def").token, "abc def");
  const auto t = parse_ok("/stream?token=t0k&streams=a@trade&timeUnit=MICROSECOND");
  EXPECT_EQ(t.token, "t0k");
  EXPECT_TRUE(t.microsecond);
  EXPECT_EQ(t.streams, (Streams{"a@trade"}));
}

TEST(RequestTarget, FuturesPathPrefixes) {
  auto t = parse_ok("/market/ws/btcusdt@kline_1h");
  EXPECT_EQ(t.prefix, "/market");
  EXPECT_FALSE(t.combined);
  EXPECT_EQ(t.streams, (Streams{"btcusdt@kline_1h"}));

  t = parse_ok("/public/stream?streams=btcusdt@bookTicker/ethusdt@depth");
  EXPECT_EQ(t.prefix, "/public");
  EXPECT_TRUE(t.combined);
  EXPECT_EQ(t.streams, (Streams{"btcusdt@bookTicker", "ethusdt@depth"}));

  t = parse_ok("/market/stream");
  EXPECT_EQ(t.prefix, "/market");
  EXPECT_TRUE(t.streams.empty());
  t = parse_ok("/public/ws");
  EXPECT_EQ(t.prefix, "/public");
}

TEST(RequestTarget, DuplicatesAndEmptyNamesRemoved) {
  EXPECT_EQ(parse_ok("/ws/a@trade/b@trade/a@trade").streams, (Streams{"a@trade", "b@trade"}));
  EXPECT_EQ(parse_ok("/ws/a@trade//b@trade/").streams, (Streams{"a@trade", "b@trade"}));
  EXPECT_EQ(parse_ok("/stream?streams=/a@trade/a@trade//b@trade/").streams, (Streams{"a@trade", "b@trade"}));
  EXPECT_EQ(parse_ok("/ws/btcusdt@trade/btcusdt%40trade").streams, (Streams{"btcusdt@trade"}));
}

TEST(RequestTarget, UnknownPaths) {
  for (auto target : {"/", "/foo", "/wss/a@trade", "/ws2/a@trade", "/streams?streams=a@trade", "/stream/a@trade",
                      "/market", "/marketing/ws/a@trade", "/public2/ws/a@trade", "/market/market/ws/a@trade",
                      "/api/v3/ping", "/metrics", "/healthz"}) {
    EXPECT_NE(parse_error(target).find("unknown path"), std::string::npos) << target;
  }
}

TEST(RequestTarget, MalformedTargets) {
  for (auto target : {"", "ws/a@trade", "http://example.com/ws/a@trade", "/ws/a b", "/ws/%zz"}) {
    EXPECT_EQ(parse_error(target), "malformed request target") << target;
  }
}

}  // namespace
}  // namespace tickrelay::fanout
