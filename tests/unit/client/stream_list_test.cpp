#include "stream_list.hpp"

#include <gtest/gtest.h>

#include "process_runner.hpp"

namespace tickrelay::client {
namespace {

TEST(StreamList, SymbolsFileAcceptsBothFormsAndSkipsNoise) {
  test::TempDir dir;
  const auto path = dir.write("pairs.txt", "BINANCE:BTCUSDT\n  ethusdt \n\n# comment\nBINANCE:1INCHUSDT\r\n");
  EXPECT_EQ(read_symbols_file(path), (std::vector<std::string>{"btcusdt", "ethusdt", "1inchusdt"}));
}

TEST(StreamList, TheStudysPairListReads) {
  const auto symbols = read_symbols_file(std::string(TICKRELAY_SOURCE_DIR) + "/config/usdt-pairs.txt");
  EXPECT_GT(symbols.size(), 300u);
  EXPECT_EQ(symbols.front(), "btcusdt");
}

TEST(StreamList, MissingFileThrowsNamingIt) {
  try {
    read_symbols_file("/nonexistent/pairs.txt");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/pairs.txt"), std::string::npos);
  }
}

TEST(StreamList, SplitAndTemplate) {
  EXPECT_EQ(split_list(" a, b,,c "), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(expand_template("{symbol}@kline_1h", {"btcusdt", "ethusdt"}),
            (std::vector<std::string>{"btcusdt@kline_1h", "ethusdt@kline_1h"}));
  EXPECT_THROW(expand_template("kline_1h", {"btcusdt"}), std::invalid_argument);
}

}  // namespace
}  // namespace tickrelay::client
