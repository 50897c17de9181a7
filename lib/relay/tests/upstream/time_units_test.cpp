#include "upstream/time_units.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tickrelay::upstream {
namespace {

using Result = TimeRescaler::Result;

class TimeRescalerTest : public ::testing::Test {
 protected:
  std::string to_ms(const std::string& event) { return run(event, TimeUnit::microsecond, TimeUnit::millisecond); }
  std::string to_us(const std::string& event) { return run(event, TimeUnit::millisecond, TimeUnit::microsecond); }
  std::string run(const std::string& event, TimeUnit from, TimeUnit to) {
    std::string out = "untouched";
    result_ = rescaler_.rescale(event, from, to, out);
    return result_ == Result::rescaled ? out : event;
  }

  TimeRescaler rescaler_;
  Result result_ = Result::malformed;
};

TEST_F(TimeRescalerTest, TradeTimesGoToMillisecondsAndItsIdStays) {
  EXPECT_EQ(to_ms(R"({"e":"trade","E":1770000000123456,"s":"BTCUSDT","t":1770000000123456,"p":"1.0","q":"2",)"
                  R"("T":1770000000123999,"m":true,"M":true})"),
            R"({"e":"trade","E":1770000000123,"s":"BTCUSDT","t":1770000000123456,"p":"1.0","q":"2",)"
            R"("T":1770000000123,"m":true,"M":true})");
  EXPECT_EQ(result_, Result::rescaled);
}

TEST_F(TimeRescalerTest, KlineTimesInsideKAreRescaledAndTradeIdsAreNot) {
  const std::string ms = R"({"e":"kline","E":1770000000123,"s":"BTCUSDT","k":{"t":1769997600000,"T":1770001199999,)"
                         R"("s":"BTCUSDT","i":"1h","f":100,"L":200,"o":"1","c":"2","x":false}})";
  EXPECT_EQ(to_us(ms), R"({"e":"kline","E":1770000000123000,"s":"BTCUSDT","k":{"t":1769997600000000,)"
                       R"("T":1770001199999000,"s":"BTCUSDT","i":"1h","f":100,"L":200,"o":"1","c":"2","x":false}})");
  EXPECT_EQ(to_ms(to_us(ms)), ms);
}

TEST_F(TimeRescalerTest, TickerOpenAndCloseTimesAreRescaledButNotItsPrices) {
  EXPECT_EQ(to_ms(R"({"e":"24hrTicker","E":1770000000000999,"o":"1.5","c":"1.6","O":1769913600000000,)"
                  R"("C":1770000000000000,"F":1,"L":9})"),
            R"({"e":"24hrTicker","E":1770000000000,"o":"1.5","c":"1.6","O":1769913600000,)"
            R"("C":1770000000000,"F":1,"L":9})");
}

TEST_F(TimeRescalerTest, EachEventOfAnArrayStreamIsRescaled) {
  EXPECT_EQ(to_us(R"([{"e":"24hrMiniTicker","E":1,"s":"A"},{"e":"24hrMiniTicker","E":2,"s":"B"}])"),
            R"([{"e":"24hrMiniTicker","E":1000,"s":"A"},{"e":"24hrMiniTicker","E":2000,"s":"B"}])");
}

TEST_F(TimeRescalerTest, LiquidationOrderTimeIsRescaled) {
  EXPECT_EQ(to_ms(R"({"e":"forceOrder","E":5000,"o":{"s":"BTCUSDT","T":7999,"q":"1"}})"),
            R"({"e":"forceOrder","E":5,"o":{"s":"BTCUSDT","T":7,"q":"1"}})");
}

TEST_F(TimeRescalerTest, WhitespaceAroundNumbersIsKept) {
  EXPECT_EQ(to_us("{ \"E\" : 12 ,\n\"T\":\t3 }"), "{ \"E\" : 12000 ,\n\"T\":\t3000 }");
}

TEST_F(TimeRescalerTest, EventWithoutTimesReadsTheSameInBothUnits) {
  // Spot's bookTicker carries no time at all.
  const std::string book = R"({"u":400900217,"s":"BNBUSDT","b":"25.35","B":"31.21","a":"25.36","A":"40.66"})";
  EXPECT_EQ(to_ms(book), book);
  EXPECT_EQ(result_, Result::unchanged);
}

TEST_F(TimeRescalerTest, TimesThatAreNotIntegersAreLeftAlone) {
  EXPECT_EQ(to_ms(R"({"E":"1770000000123456","T":1.5,"O":null})"), R"({"E":"1770000000123456","T":1.5,"O":null})");
  EXPECT_EQ(result_, Result::unchanged);
}

TEST_F(TimeRescalerTest, NegativeTimesRoundDown) {
  EXPECT_EQ(to_ms(R"({"E":-1,"T":-1000,"O":-1001})"), R"({"E":-1,"T":-1,"O":-2})");
}

TEST_F(TimeRescalerTest, TimeThatOverflowsInMicrosecondsIsMalformed) {
  to_us(R"({"E":9223372036854775})");
  EXPECT_EQ(result_, Result::rescaled);
  to_us(R"({"E":9223372036854776})");
  EXPECT_EQ(result_, Result::malformed);
  to_ms(R"({"E":92233720368547758070})");
  EXPECT_EQ(result_, Result::malformed);
}

TEST_F(TimeRescalerTest, BrokenJsonIsMalformed) {
  for (const std::string bad : {R"({"E":1)", "", "42", R"({"E":1}x)", R"([1,2])", R"({"k":{"t":1,}})"}) {
    to_ms(bad);
    EXPECT_EQ(result_, Result::malformed) << bad;
  }
}

TEST_F(TimeRescalerTest, SameUnitIsUnchanged) {
  std::string out;
  EXPECT_EQ(rescaler_.rescale(R"({"E":1})", TimeUnit::millisecond, TimeUnit::millisecond, out), Result::unchanged);
}

TEST(UnitOfEpoch, MillisecondsUntilTheYear5138) {
  EXPECT_EQ(unit_of_epoch(1770000000123), TimeUnit::millisecond);
  EXPECT_EQ(unit_of_epoch(1770000000123456), TimeUnit::microsecond);
}

}  // namespace
}  // namespace tickrelay::upstream
