#include "message_processor.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tickrelay::client {
namespace {

constexpr const char* kKline =
    R"({"e":"kline","E":1672515782136,"s":"BNBBTC","k":{"t":1672515780000,"T":1672515839999,"s":"BNBBTC","i":"1m",)"
    R"("f":100,"L":200,"o":"0.0010","c":"0.0020","h":"0.0025","l":"0.0015","v":"1000","n":100,"x":false,)"
    R"("q":"1.0000","V":"500","Q":"0.500","B":"123456"}})";
constexpr const char* kTrade =
    R"({"e":"trade","E":1672515782136,"s":"BNBBTC","t":12345,"p":"0.001","q":"100","T":1672515782136,"m":true,"M":true})";
constexpr const char* kAggTrade =
    R"({"e":"aggTrade","E":1672515782136,"s":"BNBBTC","a":12345,"p":"0.002","q":"100","f":100,"l":105,)"
    R"("T":1672515782136,"m":true,"M":true})";
constexpr const char* kTicker =
    R"({"e":"24hrTicker","E":1672515782136,"s":"BNBBTC","p":"0.0015","P":"250.00","w":"0.0018","x":"0.0009",)"
    R"("c":"0.0025","Q":"10","b":"0.0024","B":"10","a":"0.0026","A":"100","o":"0.0010","h":"0.0025","l":"0.0010",)"
    R"("v":"10000","q":"18","O":0,"C":86400000,"F":0,"L":18150,"n":18151})";
constexpr const char* kMiniTicker =
    R"({"e":"24hrMiniTicker","E":1672515782136,"s":"BNBBTC","c":"0.0025","o":"0.0010","h":"0.0025","l":"0.0010",)"
    R"("v":"10000","q":"18"})";
constexpr const char* kBookTicker =
    R"({"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"})";

std::string combined(const std::string& stream, const std::string& data) {
  return R"({"stream":")" + stream + R"(","data":)" + data + "}";
}

class MessageProcessorTest : public ::testing::Test {
 protected:
  const MarketEvent& only_event(const std::string& message) {
    EXPECT_EQ(processor_.process_copy(message), MessageClass::market) << message;
    EXPECT_EQ(processor_.events().size(), 1u) << message;
    return processor_.events().front();
  }
  MessageProcessor processor_;
};

TEST_F(MessageProcessorTest, KlineRawAndCombined) {
  for (const std::string& message : {std::string(kKline), combined("bnbbtc@kline_1m", kKline)}) {
    const MarketEvent& ev = only_event(message);
    EXPECT_EQ(ev.kind, EventKind::kline);
    EXPECT_EQ(ev.symbol, "BNBBTC");
    EXPECT_EQ(ev.interval, "1m");
    EXPECT_TRUE(ev.has_price);
    EXPECT_DOUBLE_EQ(ev.price, 0.0020);
    ASSERT_TRUE(ev.has_change);
    EXPECT_DOUBLE_EQ(ev.change_pct, 100.0);  // (0.0020 - 0.0010) / 0.0010 * 100
    EXPECT_TRUE(ev.has_event_time);
    EXPECT_EQ(ev.event_time, 1672515782136u);
    EXPECT_TRUE(ev.has_sequence);
    EXPECT_EQ(ev.sequence, 200u);  // k.L
  }
  EXPECT_EQ(processor_.stream(), "bnbbtc@kline_1m");
}

TEST_F(MessageProcessorTest, KlineSequencesCanBeTurnedOff) {
  MessageProcessor real_binance(/*kline_sequences=*/false);
  ASSERT_EQ(real_binance.process_copy(kKline), MessageClass::market);
  EXPECT_FALSE(real_binance.events().front().has_sequence);
}

TEST_F(MessageProcessorTest, TradeAndAggTrade) {
  const MarketEvent& trade = only_event(kTrade);
  EXPECT_EQ(trade.kind, EventKind::trade);
  EXPECT_DOUBLE_EQ(trade.price, 0.001);
  EXPECT_FALSE(trade.has_change);  // taken against the first price seen
  EXPECT_EQ(trade.sequence, 12345u);

  const MarketEvent& agg = only_event(combined("bnbbtc@aggTrade", kAggTrade));
  EXPECT_EQ(agg.kind, EventKind::agg_trade);
  EXPECT_DOUBLE_EQ(agg.price, 0.002);
  EXPECT_TRUE(agg.has_sequence);
  EXPECT_EQ(agg.sequence, 12345u);  // "a" is the id here
}

TEST_F(MessageProcessorTest, TickerCarriesItsOwnChange) {
  const MarketEvent& ev = only_event(kTicker);
  EXPECT_EQ(ev.kind, EventKind::ticker);
  EXPECT_DOUBLE_EQ(ev.price, 0.0025);
  EXPECT_TRUE(ev.has_change);
  EXPECT_DOUBLE_EQ(ev.change_pct, 250.0);
  EXPECT_FALSE(ev.has_sequence);
}

TEST_F(MessageProcessorTest, MiniTickerChangeFromOpenAndClose) {
  const MarketEvent& ev = only_event(combined("bnbbtc@miniTicker", kMiniTicker));
  EXPECT_EQ(ev.kind, EventKind::mini_ticker);
  EXPECT_DOUBLE_EQ(ev.price, 0.0025);
  EXPECT_NEAR(ev.change_pct, 150.0, 1e-9);
}

TEST_F(MessageProcessorTest, SpotBookTickerHasMidPriceAndNoEventTime) {
  const MarketEvent& ev = only_event(kBookTicker);
  EXPECT_EQ(ev.kind, EventKind::book_ticker);
  EXPECT_EQ(ev.symbol, "BNBUSDT");
  EXPECT_DOUBLE_EQ(ev.price, (25.35190000 + 25.36520000) / 2);
  EXPECT_FALSE(ev.has_event_time);
  EXPECT_FALSE(ev.has_change);
  EXPECT_FALSE(ev.has_sequence);
}

TEST_F(MessageProcessorTest, FuturesBookTickerWithEventType) {
  const MarketEvent& ev = only_event(
      R"({"e":"bookTicker","u":400900217,"E":1568014460893,"T":1568014460891,"s":"BNBUSDT",)"
      R"("b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"})");
  EXPECT_EQ(ev.kind, EventKind::book_ticker);
  EXPECT_TRUE(ev.has_event_time);
  EXPECT_EQ(ev.event_time, 1568014460893u);
}

TEST_F(MessageProcessorTest, FieldOrderDoesNotMatter) {
  const MarketEvent& ev = only_event(R"({"p":"0.5","t":7,"s":"ABC","E":1700000000000000,"e":"trade"})");
  EXPECT_EQ(ev.kind, EventKind::trade);
  EXPECT_EQ(ev.symbol, "ABC");
  EXPECT_EQ(ev.sequence, 7u);
  EXPECT_EQ(ev.event_time, 1700000000000000u);
}

TEST_F(MessageProcessorTest, ArrayOfEventsYieldsEach) {
  const std::string arr = std::string("[") + kMiniTicker + "," +
                          R"({"e":"24hrMiniTicker","E":1672515782137,"s":"ETHBTC","c":"2","o":"1"})" + "]";
  ASSERT_EQ(processor_.process_copy(arr), MessageClass::market);
  ASSERT_EQ(processor_.events().size(), 2u);
  EXPECT_EQ(processor_.events()[1].symbol, "ETHBTC");
  EXPECT_DOUBLE_EQ(processor_.events()[1].change_pct, 100.0);
  ASSERT_EQ(processor_.process_copy(combined("!miniTicker@arr", arr)), MessageClass::market);
  EXPECT_EQ(processor_.events().size(), 2u);
}

TEST_F(MessageProcessorTest, SubscribeResponsesAreControlNotMarket) {
  EXPECT_EQ(processor_.process_copy(R"({"result":null,"id":1})"), MessageClass::control);
  EXPECT_TRUE(processor_.events().empty());
  EXPECT_EQ(processor_.process_copy(R"({"result":["btcusdt@trade"],"id":3})"), MessageClass::control);
  EXPECT_EQ(processor_.process_copy(R"({"error":{"code":2,"msg":"Invalid request"},"id":4})"), MessageClass::control);
}

TEST_F(MessageProcessorTest, OtherEventsAreMarketMessagesWithoutPrice) {
  const MarketEvent& ev = only_event(R"({"e":"serverShutdown","E":1770123456789})");
  EXPECT_EQ(ev.kind, EventKind::other);
  EXPECT_FALSE(ev.has_price);
  EXPECT_TRUE(ev.has_event_time);
}

TEST_F(MessageProcessorTest, MalformedInputIsCountedNotFatal) {
  for (const std::string& bad : {std::string("not json at all"), std::string(R"({"e":"trade","E":)"),
                                 std::string(R"({"e":"trade","E":"soon","s":"X"})"), std::string("42"), std::string(""),
                                 std::string(R"({"stream":"x","data":7})"), std::string(R"([1,2,3])"),
                                 std::string(R"({"e":"kline","k":"oops"})"), std::string("\x01\x02\xff\xfe"),
                                 std::string(R"({"e":)") + std::string(500, '[')}) {
    EXPECT_EQ(processor_.process_copy(bad), MessageClass::malformed) << bad;
    EXPECT_TRUE(processor_.events().empty());
  }
  // And the processor still works afterwards.
  EXPECT_EQ(only_event(kTrade).sequence, 12345u);
}

TEST_F(MessageProcessorTest, UnparsablePriceLeavesNoPrice) {
  const MarketEvent& ev = only_event(R"({"e":"trade","E":1,"s":"X","t":1,"p":"abc"})");
  EXPECT_FALSE(ev.has_price);
}

TEST_F(MessageProcessorTest, ProcessesInPlaceWithPadding) {
  // Two messages back to back in one buffer, as a socket read delivers them:
  // the first is parsed in place although other bytes follow it.
  std::string buffer = std::string(kTrade) + kAggTrade;
  const std::size_t first = std::string(kTrade).size();
  buffer.resize(buffer.size() + MessageProcessor::kPadding, ' ');
  ASSERT_EQ(processor_.process(buffer.data(), first, buffer.size()), MessageClass::market);
  EXPECT_EQ(processor_.events().front().kind, EventKind::trade);
  ASSERT_EQ(processor_.process(buffer.data() + first, std::string(kAggTrade).size(), buffer.size() - first),
            MessageClass::market);
  EXPECT_EQ(processor_.events().front().kind, EventKind::agg_trade);
}

TEST_F(MessageProcessorTest, LargeMessagesGrowTheBuffers) {
  std::string arr = "[";
  for (int i = 0; i < 2000; ++i) {
    if (i) arr += ",";
    arr += R"({"e":"24hrMiniTicker","E":1672515782136,"s":"SYM)" + std::to_string(i) + R"(","c":"2","o":"1"})";
  }
  arr += "]";
  ASSERT_EQ(processor_.process_copy(arr), MessageClass::market);
  EXPECT_EQ(processor_.events().size(), 2000u);
  EXPECT_EQ(processor_.events()[1999].symbol, "SYM1999");
}

}  // namespace
}  // namespace tickrelay::client
