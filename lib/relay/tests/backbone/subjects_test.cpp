#include "backbone/subjects.hpp"

#include <gtest/gtest.h>

namespace tickrelay::backbone {
namespace {

using config::Product;

TEST(Subjects, StreamTokensFollowTheProduct) {
  EXPECT_EQ(event_subject("tickrelay", Product::usdm_futures, "btcusdt@kline_1h"), "tickrelay.usdm.btcusdt.kline_1h");
  EXPECT_EQ(event_subject("tickrelay", Product::spot, "btcusdt@depth@100ms"), "tickrelay.spot.btcusdt.depth.100ms");
  EXPECT_EQ(event_subject("md.eu", Product::coinm_futures, "!bookTicker"), "md.eu.coinm.!bookTicker");
  EXPECT_EQ(event_subject("tickrelay", Product::spot, "!miniTicker@arr"), "tickrelay.spot.!miniTicker.arr");
  // Kline intervals differ by case only (1m, 1M): subjects keep it.
  EXPECT_NE(event_subject("t", Product::spot, "btcusdt@kline_1m"),
            event_subject("t", Product::spot, "btcusdt@kline_1M"));
}

TEST(Subjects, LastValueSubjectsAreApartFromEvents) {
  EXPECT_EQ(last_value_subject("tickrelay", Product::usdm_futures, "btcusdt@kline_1h"),
            "tickrelay-last.usdm.btcusdt.kline_1h");
  EXPECT_EQ(source_subject("tickrelay", "ingest-a"), "tickrelay-ingest.ingest-a");
}

TEST(Subjects, NamesThatCannotBeSubjectsGiveNone) {
  for (const char* bad : {"", "btc usdt@trade", "btc.usdt@trade", "btc*@trade", "btc>@trade", "btcusdt@", "a@@b"})
    EXPECT_EQ(event_subject("tickrelay", Product::spot, bad), "") << bad;
}

TEST(Subjects, SourceNamesAreMadeIntoOneToken) {
  EXPECT_EQ(source_subject("tickrelay", "host.example com"), "tickrelay-ingest.host_example_com");
  EXPECT_EQ(source_subject("tickrelay", ""), "tickrelay-ingest._");
}

}  // namespace
}  // namespace tickrelay::backbone
