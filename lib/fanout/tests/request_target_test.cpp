#include "tickrelay/fanout/request_target.hpp"

#include <gtest/gtest.h>

namespace tickrelay::fanout {
namespace {

using Streams = std::vector<std::string>;

RequestTarget parse_ok(std::string_view target, std::size_t max_streams = 1024) {
  std::string error;
  auto t = parse_request_target(target, error);
  EXPECT_TRUE(t.has_value()) << target << ": " << error;
  if (!t) return RequestTarget{};
  EXPECT_TRUE(split_streams(*t, max_streams, error)) << target << ": " << error;
  return *t;
}

// n distinct names, a0@trade/a1@trade/...
std::string names(std::size_t n, std::string_view separator = "/") {
  std::string list;
  for (std::size_t i = 0; i < n; ++i) {
    if (i) list += separator;
    list += "a" + std::to_string(i) + "@trade";
  }
  return list;
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

// USD-M's user-data path: a client that opens it at connect (with or
// without a listen key in the path) gets a connection, however little it
// carries here.
TEST(RequestTarget, UsdmPrivatePathInBothForms) {
  auto t = parse_ok("/private/stream?streams=");
  EXPECT_EQ(t.prefix, "/private");
  EXPECT_TRUE(t.combined);
  EXPECT_TRUE(t.streams.empty());
  t = parse_ok("/private/ws/pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1");
  EXPECT_EQ(t.prefix, "/private");
  EXPECT_FALSE(t.combined);
  t = parse_ok("/private/ws?listenKey=abc");
  EXPECT_EQ(t.prefix, "/private");
  EXPECT_TRUE(t.streams.empty());
}

// Binance reads a trailing slash after each form as nothing more.
TEST(RequestTarget, TrailingSlashes) {
  EXPECT_EQ(parse_ok("/ws/btcusdt@trade/").streams, (Streams{"btcusdt@trade"}));
  EXPECT_TRUE(parse_ok("/stream/?streams=a@trade").combined);
  EXPECT_EQ(parse_ok("/market/stream/?streams=a@trade").streams, (Streams{"a@trade"}));
  EXPECT_EQ(parse_ok("/private/ws/").prefix, "/private");
}

// A client's own connection counter in the path (ccxt opens /ws/0): kept
// as a name here; the session skips what is not a stream name.
TEST(RequestTarget, TokenThatIsNotAStreamIsPassedOn) { EXPECT_EQ(parse_ok("/ws/0").streams, (Streams{"0"})); }

TEST(RequestTarget, DuplicatesAndEmptyNamesRemoved) {
  EXPECT_EQ(parse_ok("/ws/a@trade/b@trade/a@trade").streams, (Streams{"a@trade", "b@trade"}));
  EXPECT_EQ(parse_ok("/ws/a@trade//b@trade/").streams, (Streams{"a@trade", "b@trade"}));
  EXPECT_EQ(parse_ok("/stream?streams=/a@trade/a@trade//b@trade/").streams, (Streams{"a@trade", "b@trade"}));
  EXPECT_EQ(parse_ok("/ws/btcusdt@trade/btcusdt%40trade").streams, (Streams{"btcusdt@trade"}));
}

TEST(RequestTarget, ManyDuplicatesKeepFirstOccurrenceOrder) {
  std::string list;
  Streams expected;
  for (int round = 0; round < 3; ++round) {
    for (int i = 999; i >= 0; --i) list += "/s" + std::to_string(i) + "@trade";
  }
  for (int i = 999; i >= 0; --i) expected.push_back("s" + std::to_string(i) + "@trade");
  EXPECT_EQ(parse_ok("/ws" + list, 3000).streams, expected);
}

TEST(RequestTarget, StreamListWaitsForTheSplit) {
  std::string error;
  auto t = parse_request_target("/stream?streams=a@trade/b@trade&token=x", error);
  ASSERT_TRUE(t.has_value()) << error;
  // The token is known before any name is copied.
  EXPECT_EQ(t->token, "x");
  EXPECT_EQ(t->stream_list, "a@trade/b@trade");
  EXPECT_TRUE(t->streams.empty());
  ASSERT_TRUE(split_streams(*t, 2, error)) << error;
  EXPECT_EQ(t->streams, (Streams{"a@trade", "b@trade"}));
}

TEST(RequestTarget, CapRefusesAnOverCapPath) {
  for (const std::string& target : {"/ws/" + names(5000), "/stream?streams=" + names(5000), "/market/ws/" + names(1025),
                                    "/stream?streams=" + names(1025, "//")}) {
    std::string error;
    auto t = parse_request_target(target, error);
    ASSERT_TRUE(t.has_value()) << error;
    EXPECT_FALSE(split_streams(*t, 1024, error)) << target.substr(0, 40);
    EXPECT_EQ(error, "too many streams: at most 1024 per connection");
    EXPECT_TRUE(t->streams.empty());
  }
}

TEST(RequestTarget, CapAllowsExactlyTheCap) {
  const auto t = parse_ok("/stream?streams=" + names(1024), 1024);
  ASSERT_EQ(t.streams.size(), 1024u);
  EXPECT_EQ(t.streams.front(), "a0@trade");
  EXPECT_EQ(t.streams.back(), "a1023@trade");
  // Empty names are not names.
  EXPECT_EQ(parse_ok("/ws//a@trade///b@trade//", 2).streams, (Streams{"a@trade", "b@trade"}));
}

TEST(RequestTarget, CapCountsRepeatedNames) {
  // The count comes before the names are compared: 1025 names are over a cap
  // of 1024 even when they are all one stream.
  std::string list = "/ws";
  for (int i = 0; i < 1025; ++i) list += "/a@trade";
  std::string error;
  auto t = parse_request_target(list, error);
  ASSERT_TRUE(t.has_value()) << error;
  EXPECT_FALSE(split_streams(*t, 1024, error));
  EXPECT_EQ(parse_ok(list, 1025).streams, (Streams{"a@trade"}));
}

TEST(RequestTarget, UnknownPaths) {
  for (auto target : {"/", "/foo", "/wss/a@trade", "/ws2/a@trade", "/streams?streams=a@trade", "/stream/a@trade",
                      "/market", "/marketing/ws/a@trade", "/public2/ws/a@trade", "/market/market/ws/a@trade",
                      "/private", "/privates/ws", "/private/public/ws", "/api/v3/ping", "/metrics", "/healthz"}) {
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
