#include "frame_parser.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace tickrelay::relay {
namespace {

using Type = ParsedFrame::Type;

std::string_view data_of(std::string_view message, const ParsedFrame& f) {
  return message.substr(f.data_offset, f.data_size);
}

TEST(FrameParser, EventWithDataLast) {
  FrameParser parser;
  const std::string msg =
      R"({"stream":"btcusdt@trade","data":{"e":"trade","E":1672515782136,"s":"BNBBTC","t":12345,"p":"0.001","q":"100","T":1672515782136,"m":true,"M":true}})";
  const auto f = parser.parse(msg);
  ASSERT_EQ(f.type, Type::event) << (f.error ? f.error : "");
  EXPECT_EQ(f.stream, "btcusdt@trade");
  EXPECT_EQ(
      data_of(msg, f),
      R"({"e":"trade","E":1672515782136,"s":"BNBBTC","t":12345,"p":"0.001","q":"100","T":1672515782136,"m":true,"M":true})");
  EXPECT_EQ(f.event_time, 1672515782136);
  EXPECT_EQ(f.trade_id, 12345);
  EXPECT_EQ(f.agg_id, -1);
  EXPECT_EQ(f.update_id, -1);
  EXPECT_EQ(f.error, nullptr);
}

TEST(FrameParser, EventWithDataFirst) {
  FrameParser parser;
  const std::string msg = R"({"data":{"e":"aggTrade","E":5,"a":77,"p":"1"},"stream":"btcusdt@aggTrade"})";
  const auto f = parser.parse(msg);
  ASSERT_EQ(f.type, Type::event) << (f.error ? f.error : "");
  EXPECT_EQ(f.stream, "btcusdt@aggTrade");
  EXPECT_EQ(data_of(msg, f), R"({"e":"aggTrade","E":5,"a":77,"p":"1"})");
  EXPECT_EQ(f.event_time, 5);
  EXPECT_EQ(f.agg_id, 77);
  EXPECT_EQ(f.trade_id, -1);
}

TEST(FrameParser, EventWithDataInTheMiddle) {
  FrameParser parser;
  const std::string msg = R"({"x":1,"data":{"E":9},"stream":"a@trade","y":[1,2]})";
  const auto f = parser.parse(msg);
  ASSERT_EQ(f.type, Type::event) << (f.error ? f.error : "");
  EXPECT_EQ(data_of(msg, f), R"({"E":9})");
  EXPECT_EQ(f.stream, "a@trade");
}

TEST(FrameParser, WhitespaceAroundEverything) {
  FrameParser parser;
  const std::string msg =
      " \n{ \"stream\" : \"btcusdt@bookTicker\" ,\r\n \"data\"\t:\n { \"u\" : 400900217 , \"a\" : \"25.36520000\" } \n , "
      "\"z\" : 0 } \n";
  const auto f = parser.parse(msg);
  ASSERT_EQ(f.type, Type::event) << (f.error ? f.error : "");
  EXPECT_EQ(f.stream, "btcusdt@bookTicker");
  EXPECT_EQ(data_of(msg, f), "{ \"u\" : 400900217 , \"a\" : \"25.36520000\" }");
  EXPECT_EQ(f.update_id, 400900217);
  EXPECT_EQ(f.agg_id, -1);
}

TEST(FrameParser, WhitespaceAfterLastData) {
  FrameParser parser;
  const std::string msg = "{\"stream\":\"a@trade\",\"data\":{\"t\":1}  \n }";
  const auto f = parser.parse(msg);
  ASSERT_EQ(f.type, Type::event) << (f.error ? f.error : "");
  EXPECT_EQ(data_of(msg, f), "{\"t\":1}");
}

TEST(FrameParser, BookTickerAskPriceIsNotAnAggId) {
  FrameParser parser;
  const std::string msg =
      R"({"stream":"bnbusdt@bookTicker","data":{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}})";
  const auto f = parser.parse(msg);
  ASSERT_EQ(f.type, Type::event) << (f.error ? f.error : "");
  EXPECT_EQ(f.update_id, 400900217);
  EXPECT_EQ(f.agg_id, -1);
  EXPECT_EQ(f.trade_id, -1);
  EXPECT_EQ(f.event_time, 0);
}

TEST(FrameParser, OnlyTopLevelIntegerIdsCount) {
  FrameParser parser;
  // Kline: t inside k is the open time, not a trade id; E is top level.
  const std::string kline =
      R"({"stream":"btcusdt@kline_1h","data":{"e":"kline","E":1672515782136,"s":"BNBBTC","k":{"t":1672515780000,"T":1672515839999,"s":"BNBBTC","i":"1m","f":100,"L":200,"o":"0.0010","c":"0.0020","h":"0.0025","l":"0.0015","v":"1000","n":100,"x":false,"q":"1.0000","V":"500","Q":"0.500","B":"123456"}}})";
  auto f = parser.parse(kline);
  ASSERT_EQ(f.type, Type::event) << (f.error ? f.error : "");
  EXPECT_EQ(f.event_time, 1672515782136);
  EXPECT_EQ(f.trade_id, -1);
  EXPECT_EQ(data_of(kline, f).front(), '{');
  EXPECT_EQ(data_of(kline, f).substr(data_of(kline, f).size() - 3), "\"}}");

  // Floats, strings, booleans and nulls in t/a/u are not ids.
  const std::string odd = R"({"stream":"x@trade","data":{"E":7,"t":"12","a":true,"u":null}})";
  f = parser.parse(odd);
  ASSERT_EQ(f.type, Type::event) << (f.error ? f.error : "");
  EXPECT_EQ(f.event_time, 7);
  EXPECT_EQ(f.trade_id, -1);
  EXPECT_EQ(f.agg_id, -1);
  EXPECT_EQ(f.update_id, -1);

  // Longer keys starting with the same letter are not the ids.
  const std::string longer = R"({"stream":"x@trade","data":{"Ex":1,"tt":2,"ab":3,"uu":4,"t":5}})";
  f = parser.parse(longer);
  ASSERT_EQ(f.type, Type::event) << (f.error ? f.error : "");
  EXPECT_EQ(f.event_time, 0);
  EXPECT_EQ(f.trade_id, 5);
  EXPECT_EQ(f.agg_id, -1);
  EXPECT_EQ(f.update_id, -1);
}

TEST(FrameParser, DepthUpdateId) {
  FrameParser parser;
  const std::string msg =
      R"({"stream":"bnbbtc@depth","data":{"e":"depthUpdate","E":1672515782136,"s":"BNBBTC","U":157,"u":160,"b":[["0.0024","10"]],"a":[["0.0026","100"]]}})";
  const auto f = parser.parse(msg);
  ASSERT_EQ(f.type, Type::event) << (f.error ? f.error : "");
  EXPECT_EQ(f.update_id, 160);
  EXPECT_EQ(f.agg_id, -1);  // "a" is the asks array here
  EXPECT_EQ(f.event_time, 1672515782136);
}

TEST(FrameParser, ArrayData) {
  FrameParser parser;
  const std::string msg =
      R"({"stream":"!miniTicker@arr","data":[{"e":"24hrMiniTicker","E":1672515782136,"s":"BNBBTC","c":"0.0025"},{"e":"24hrMiniTicker","E":1672515782137,"s":"ETHBTC"}]})";
  const auto f = parser.parse(msg);
  ASSERT_EQ(f.type, Type::event) << (f.error ? f.error : "");
  EXPECT_EQ(f.stream, "!miniTicker@arr");
  EXPECT_EQ(data_of(msg, f).front(), '[');
  EXPECT_EQ(data_of(msg, f).back(), ']');
  EXPECT_EQ(data_of(msg, f).size(), msg.size() - std::string(R"({"stream":"!miniTicker@arr","data":})").size());
  EXPECT_EQ(f.event_time, 0);  // E belongs to the elements

  const std::string empty = R"({"stream":"!miniTicker@arr","data":[]})";
  const auto e = parser.parse(empty);
  ASSERT_EQ(e.type, Type::event) << (e.error ? e.error : "");
  EXPECT_EQ(data_of(empty, e), "[]");
}

TEST(FrameParser, EmptyObjectData) {
  FrameParser parser;
  const std::string msg = R"({"stream":"a@trade","data":{}})";
  const auto f = parser.parse(msg);
  ASSERT_EQ(f.type, Type::event) << (f.error ? f.error : "");
  EXPECT_EQ(data_of(msg, f), "{}");
}

TEST(FrameParser, Responses) {
  FrameParser parser;
  EXPECT_EQ(parser.parse(R"({"result":null,"id":1})").type, Type::response);
  EXPECT_EQ(parser.parse(R"({"id":1,"result":["btcusdt@trade"]})").type, Type::response);
  EXPECT_EQ(parser.parse(R"({"error":{"code":2,"msg":"Invalid request"},"id":7})").type, Type::response);
  EXPECT_EQ(parser.parse(R"( {"result" : true , "id" : "abc"} )").type, Type::response);
}

TEST(FrameParser, ServerShutdownRaw) {
  FrameParser parser;
  const auto f = parser.parse(R"({"e":"serverShutdown","E":1770123456789})");
  EXPECT_EQ(f.type, Type::server_shutdown);
}

TEST(FrameParser, ServerShutdownEnveloped) {
  FrameParser parser;
  const auto f = parser.parse(R"({"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1770123456789}})");
  EXPECT_EQ(f.type, Type::server_shutdown);
  const auto g = parser.parse(R"({"data":{"E":1770123456789,"e":"serverShutdown"},"stream":"!serverShutdown"})");
  EXPECT_EQ(g.type, Type::server_shutdown);
}

TEST(FrameParser, OtherRawEventsAreNotForwarded) {
  FrameParser parser;
  const auto f = parser.parse(R"({"e":"trade","E":1,"t":2})");
  EXPECT_EQ(f.type, Type::malformed);
  EXPECT_NE(f.error, nullptr);
}

TEST(FrameParser, Malformed) {
  FrameParser parser;
  for (std::string_view msg : {
           std::string_view(""),
           std::string_view("   "),
           std::string_view("not json"),
           std::string_view("42"),
           std::string_view("\"text\""),
           std::string_view("[1,2]"),
           std::string_view("null"),
           std::string_view("{"),
           std::string_view(R"({"stream":"btcusdt@trade","data":{"e":"trade","E":1)"),
           std::string_view(R"({"stream":"btcusdt@trade","data":{"e":"trade"})"),
           std::string_view(R"({"stream":"btcusdt@trade","data":{"e":"trade"}} x)"),
           std::string_view(R"({"stream":"btcusdt@trade","data":{"e":"trade"}}})"),
           std::string_view(R"({"stream":"btcusdt@trade","data":{"e":"trade"}}{"a":1})"),
           std::string_view(R"({"result":null,"id":1}garbage)"),
           std::string_view(R"({"stream":1,"data":{}})"),
           std::string_view(R"({"stream":null,"data":{}})"),
           std::string_view(R"({"stream":"btcusdt@trade"})"),
           std::string_view(R"({"data":{"e":"trade"}})"),
           std::string_view(R"({"stream":"btcusdt@trade","data":42})"),
           std::string_view(R"({"stream":"btcusdt@trade","data":"text"})"),
           std::string_view(R"({"stream":"btcusdt@trade","data":null})"),
           std::string_view(R"({"stream":"btcusdt@trade","data":true})"),
           std::string_view(R"({"stream":"btcusdt@trade","data":{"E":}})"),
           std::string_view(R"({"stream":"btcusdt@trade" "data":{}})"),
           std::string_view(R"({})"),
       }) {
    const auto f = parser.parse(msg);
    EXPECT_EQ(f.type, Type::malformed) << msg;
    EXPECT_NE(f.error, nullptr) << msg;
  }
}

// parse() runs in the upstream read handler, which must never throw: a
// broken value after an id key is reported as malformed, not as an exception.
TEST(FrameParser, BrokenIdValuesAreMalformedNotExceptions) {
  FrameParser parser;
  for (std::string_view msg : {
           std::string_view(R"({"stream":"a@trade","data":{"E":}})"),
           std::string_view(R"({"stream":"a@trade","data":{"t":,"E":1}})"),
           std::string_view(R"({"stream":"a@trade","data":{"a":]})"),
           std::string_view(R"({"stream":"a@trade","data":{"u":})"),
           std::string_view(R"({"data":{"E":},"stream":"a@trade"})"),
       }) {
    ParsedFrame f;
    EXPECT_NO_THROW(f = parser.parse(msg)) << msg;
    EXPECT_EQ(f.type, Type::malformed) << msg;
  }
}

TEST(FrameParser, MalformedReasons) {
  FrameParser parser;
  EXPECT_STREQ(parser.parse(R"({"stream":1,"data":{}})").error, "stream is not a string");
  EXPECT_STREQ(parser.parse(R"({"stream":"a@trade","data":42})").error, "data is neither an object nor an array");
  EXPECT_STREQ(parser.parse(R"({"stream":"a@trade"})").error, "envelope without data");
  EXPECT_STREQ(parser.parse(R"({"data":{}})").error, "message without stream");
  EXPECT_STREQ(parser.parse(R"({"result":null,"id":1}{"x":1})").error, "trailing bytes after the object");
}

// Every event's data range lies inside the message, whatever shape the
// envelope has: a range past the end would be copied into a frame.
void expect_data_inside(const std::string& msg, const ParsedFrame& f) {
  if (f.type != Type::event) return;
  EXPECT_LE(f.data_offset, msg.size()) << msg;
  EXPECT_LE(f.data_size, msg.size() - std::min(f.data_offset, msg.size())) << msg;
}

TEST(FrameParser, DataGivenTwiceIsMalformed) {
  FrameParser parser;
  for (const std::string& msg : {
           std::string(R"({"stream":"a@trade","data":{"E":1},"data":{"E":2}})"),
           std::string(R"({"data":{"E":1},"stream":"a@trade","data":{"E":2}})"),
           std::string(R"({"data":{"E":1},"data":[1],"stream":"a@trade"})"),
           std::string(R"({"stream":"a@trade","data":{"E":1}, "data" : {} })"),
       }) {
    const auto f = parser.parse(msg);
    EXPECT_EQ(f.type, Type::malformed) << msg;
    EXPECT_STREQ(f.error, "data given twice") << msg;
    expect_data_inside(msg, f);
  }
}

TEST(FrameParser, DataRangeStaysInsideTheMessage) {
  FrameParser parser;
  for (const std::string& msg : {
           std::string(R"({"stream":"a@trade","data":{}})"),
           std::string(R"({"stream":"a@trade","data":[]})"),
           std::string(R"({"data":{},"stream":"a@trade"})"),
           std::string(R"({"stream":"a@trade","data":{},"":1})"),
           std::string(R"({"stream":"a@trade","data" :	[ ] 	})"),
           std::string(R"({"stream":"a@trade","stream":"b@trade","data":{"E":1}})"),
       }) {
    const auto f = parser.parse(msg);
    EXPECT_EQ(f.type, Type::event) << msg << ": " << (f.error ? f.error : "");
    expect_data_inside(msg, f);
  }
}

TEST(FrameParser, NulInsideAKey) {
  FrameParser parser;
  static constexpr char kMsg[] = "{\"x\0data\":1,\"stream\":\"a@trade\",\"data\":{\"E\":1}}";
  const std::string msg(kMsg, sizeof kMsg - 1);
  const auto f = parser.parse(msg);
  if (f.type == Type::event) {
    EXPECT_EQ(data_of(msg, f), R"({"E":1})");
  }
  expect_data_inside(msg, f);
}

std::string nested(std::size_t depth) {
  return R"({"stream":"a@trade","data":{"E":1,"x":)" + std::string(depth, '[') + std::string(depth, ']') + "}}";
}

TEST(FrameParser, DeepNestingIsMalformed) {
  FrameParser parser;
  // The envelope and the data object are two levels; the array adds the rest.
  const auto at_bound = parser.parse(nested(FrameParser::kMaxDepth - 2));
  EXPECT_EQ(at_bound.type, Type::event) << (at_bound.error ? at_bound.error : "");
  for (std::size_t depth : {FrameParser::kMaxDepth - 1, std::size_t{2000}, std::size_t{100000}}) {
    const auto f = parser.parse(nested(depth));
    EXPECT_EQ(f.type, Type::malformed) << depth;
    EXPECT_STREQ(f.error, "nested too deep") << depth;
  }
  // Brackets inside strings are text, not nesting.
  const std::string text = R"({"stream":"a@trade","data":{"E":1,"s":")" + std::string(5000, '[') + R"(\"{{{"}})";
  EXPECT_EQ(parser.parse(text).type, Type::event);
  // Deep nesting outside data counts too: /stream clients get the envelope.
  const std::string outside = R"({"x":)" + std::string(3000, '[') + std::string(3000, ']') +
                              R"(,"stream":"a@trade","data":{"E":1}})";
  EXPECT_EQ(parser.parse(outside).type, Type::malformed);
}

TEST(FrameParser, EventTimeInMillisecondsAndMicroseconds) {
  FrameParser parser;
  auto f = parser.parse(R"({"stream":"a@trade","data":{"E":1672515782136}})");
  ASSERT_EQ(f.type, Type::event);
  EXPECT_EQ(f.event_time, 1672515782136);
  EXPECT_EQ(event_time_to_us(f.event_time), 1672515782136000);

  f = parser.parse(R"({"stream":"a@trade","data":{"E":1672515782136123}})");
  ASSERT_EQ(f.type, Type::event);
  EXPECT_EQ(f.event_time, 1672515782136123);
  EXPECT_EQ(event_time_to_us(f.event_time), 1672515782136123);
}

TEST(FrameParser, EventTimeMustBeAnInteger) {
  FrameParser parser;
  for (std::string_view msg : {
           std::string_view(R"({"stream":"a@trade","data":{"E":1.5}})"),
           std::string_view(R"({"stream":"a@trade","data":{"E":"1672515782136"}})"),
           std::string_view(R"({"stream":"a@trade","data":{"E":null}})"),
           std::string_view(R"({"stream":"a@trade","data":{"E":true}})"),
       }) {
    EXPECT_EQ(parser.parse(msg).type, Type::malformed) << msg;
  }
  // No E at all is fine: the event simply has no time (spot bookTicker).
  EXPECT_EQ(parser.parse(R"({"stream":"a@bookTicker","data":{"u":1}})").type, Type::event);
}

TEST(FrameParser, EventTimeToMicrosecondsBoundary) {
  EXPECT_EQ(event_time_to_us(0), 0);
  EXPECT_EQ(event_time_to_us(1), 1000);
  EXPECT_EQ(event_time_to_us(100'000'000'000'000LL), 100'000'000'000'000'000LL);  // still ms
  EXPECT_EQ(event_time_to_us(100'000'000'000'001LL), 100'000'000'000'001LL);      // already us
}

TEST(FrameParser, ResultsDoNotLeakBetweenParses) {
  FrameParser parser;
  auto f = parser.parse(R"({"stream":"a@trade","data":{"E":5,"t":6}})");
  ASSERT_EQ(f.type, Type::event);
  f = parser.parse(R"({"stream":"b@bookTicker","data":{"u":1}})");
  ASSERT_EQ(f.type, Type::event);
  EXPECT_EQ(f.stream, "b@bookTicker");
  EXPECT_EQ(f.event_time, 0);
  EXPECT_EQ(f.trade_id, -1);
  EXPECT_EQ(f.update_id, 1);
}

// A buffer with room for simdjson's padding is parsed in place: offsets are
// relative to the caller's pointer and the padding bytes are never part of
// the message, whatever they hold (no terminating NUL is promised).
TEST(FrameParser, BufferWithPaddingCapacityParsedInPlace) {
  FrameParser parser;
  const std::string msg = R"({"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":7,"a":8,"t":9,"u":10}})";
  const std::size_t capacity = msg.size() + simdjson::SIMDJSON_PADDING;
  // Exactly sized heap block so the sanitizer build catches any read past it.
  auto buffer = std::make_unique<char[]>(capacity);
  std::memcpy(buffer.get(), msg.data(), msg.size());
  std::memset(buffer.get() + msg.size(), 'x', capacity - msg.size());

  const auto f = parser.parse(buffer.get(), msg.size(), capacity);
  ASSERT_EQ(f.type, Type::event) << (f.error ? f.error : "");
  EXPECT_EQ(f.stream, "btcusdt@aggTrade");
  EXPECT_EQ(std::string_view(buffer.get() + f.data_offset, f.data_size),
            R"({"e":"aggTrade","E":7,"a":8,"t":9,"u":10})");
  EXPECT_EQ(f.event_time, 7);
  EXPECT_EQ(f.agg_id, 8);
  EXPECT_EQ(f.trade_id, 9);
  EXPECT_EQ(f.update_id, 10);
}

TEST(FrameParser, BufferWithoutPaddingIsCopied) {
  FrameParser parser;
  const std::string msg = R"({"stream":"btcusdt@trade","data":{"e":"trade","E":7,"t":8}})";
  // Exactly the message's bytes: the parser must not read past them.
  auto buffer = std::make_unique<char[]>(msg.size());
  std::memcpy(buffer.get(), msg.data(), msg.size());

  const auto f = parser.parse(buffer.get(), msg.size(), msg.size());
  ASSERT_EQ(f.type, Type::event) << (f.error ? f.error : "");
  EXPECT_EQ(f.stream, "btcusdt@trade");
  // The data range is an offset, so it applies to the caller's bytes too.
  EXPECT_EQ(std::string_view(buffer.get() + f.data_offset, f.data_size), R"({"e":"trade","E":7,"t":8})");
  EXPECT_EQ(f.trade_id, 8);
}

TEST(FrameParser, TruncatedMessageInsideALargerBuffer) {
  FrameParser parser;
  // The bytes past `size` complete the JSON, but they are not the message.
  const std::string whole = R"({"stream":"a@trade","data":{"t":1}})";
  std::string buffer = whole + std::string(simdjson::SIMDJSON_PADDING, ' ');
  const auto f = parser.parse(buffer.data(), whole.size() - 1, buffer.size());
  EXPECT_EQ(f.type, Type::malformed);
}

TEST(FrameParser, LargeMessages) {
  FrameParser parser;
  std::string items;
  for (int i = 0; i < 5000; ++i) {
    if (i) items += ',';
    items += R"({"e":"24hrMiniTicker","E":)" + std::to_string(1672515782136 + i) + R"(,"s":"SYM)" + std::to_string(i) +
             R"(","c":"0.0025","o":"0.0010"})";
  }
  const std::string msg = R"({"stream":"!miniTicker@arr","data":[)" + items + "]}";
  const auto f = parser.parse(msg);
  ASSERT_EQ(f.type, Type::event) << (f.error ? f.error : "");
  EXPECT_EQ(data_of(msg, f), "[" + items + "]");
}

}  // namespace
}  // namespace tickrelay::relay
