#include "symbol_list.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "process_runner.hpp"

namespace tickrelay::sim {
namespace {

using Symbols = std::vector<std::string>;

std::string error_of(auto&& parse) {
  try {
    parse();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no error";
}

TEST(SymbolList, ParsesBothSpellingsLowercasedInOrder) {
  const auto list = SymbolList::from_text("BINANCE:BTCUSDT\nethusdt\nbinance:SolUsdt\n", "pairs.txt");
  EXPECT_EQ(list.symbols(), (Symbols{"btcusdt", "ethusdt", "solusdt"}));
}

TEST(SymbolList, SkipsBlankLinesCommentsAndTrimsWhitespace) {
  const auto list = SymbolList::from_text(
      "# USDT pairs\n\n   \t\n  BINANCE:BTCUSDT  \r\n\tethusdt # the second\n#xrpusdt\n", "pairs.txt");
  EXPECT_EQ(list.symbols(), (Symbols{"btcusdt", "ethusdt"}));
}

TEST(SymbolList, RemovesDuplicatesKeepingFirstPosition) {
  const auto list = SymbolList::from_text("ethusdt\nBINANCE:BTCUSDT\nETHUSDT\nbtcusdt\n", "pairs.txt");
  EXPECT_EQ(list.symbols(), (Symbols{"ethusdt", "btcusdt"}));
}

TEST(SymbolList, LastLineWithoutNewlineCounts) {
  EXPECT_EQ(SymbolList::from_text("btcusdt\nethusdt", "f").symbols(), (Symbols{"btcusdt", "ethusdt"}));
}

TEST(SymbolList, InvalidCharacterNamesFileAndLine) {
  const auto message = error_of([] { SymbolList::from_text("btcusdt\n\n# c\nBTC-USDT\n", "pairs.txt"); });
  EXPECT_NE(message.find("pairs.txt:4:"), std::string::npos) << message;
  EXPECT_NE(message.find("BTC-USDT"), std::string::npos) << message;
}

TEST(SymbolList, RejectsOtherPrefixesAndInnerSpaces) {
  EXPECT_NE(error_of([] { SymbolList::from_text("BYBIT:BTCUSDT", "f"); }).find("f:1:"), std::string::npos);
  EXPECT_NE(error_of([] { SymbolList::from_text("btc usdt", "f"); }).find("f:1:"), std::string::npos);
  EXPECT_NE(error_of([] { SymbolList::from_text("ok\nbtcusdté", "f"); }).find("f:2:"), std::string::npos);
}

TEST(SymbolList, EmptySymbolAfterPrefixIsAnError) {
  const auto message = error_of([] { SymbolList::from_text("btcusdt\nBINANCE:\n", "pairs.txt"); });
  EXPECT_NE(message.find("pairs.txt:2:"), std::string::npos) << message;
  EXPECT_NE(message.find("empty symbol"), std::string::npos) << message;
}

TEST(SymbolList, FileWithoutSymbolsIsAnError) {
  EXPECT_NE(error_of([] { SymbolList::from_text("# nothing\n\n", "empty.txt"); }).find("empty.txt"), std::string::npos);
}

TEST(SymbolList, ReadsTheStudysPairFile) {
  const auto list = SymbolList::from_file(std::string(TICKRELAY_SOURCE_DIR) + "/config/usdt-pairs.txt");
  EXPECT_EQ(list.size(), 346u);
  EXPECT_EQ(list[0], "btcusdt");
  EXPECT_TRUE(list.index_of("1inchusdt").has_value());
}

TEST(SymbolList, FromFileReportsItsPath) {
  test::TempDir dir;
  const auto path = dir.write("pairs.txt", "btcusdt\nbad!\n");
  const auto message = error_of([&] { SymbolList::from_file(path); });
  EXPECT_NE(message.find(path + ":2:"), std::string::npos) << message;
  EXPECT_THROW(SymbolList::from_file(dir.file("missing.txt")), std::runtime_error);
}

TEST(SymbolList, CsvAcceptsTheSameSpellings) {
  const auto list = SymbolList::from_csv("BINANCE:BTCUSDT, ethusdt ,btcusdt");
  EXPECT_EQ(list.symbols(), (Symbols{"btcusdt", "ethusdt"}));
}

TEST(SymbolList, CsvEmptyItemNamesItsPosition) {
  const auto message = error_of([] { SymbolList::from_csv("btcusdt,,ethusdt"); });
  EXPECT_NE(message.find("item 2"), std::string::npos) << message;
  EXPECT_THROW(SymbolList::from_csv(""), std::invalid_argument);
  EXPECT_THROW(SymbolList::from_csv("btcusdt,"), std::invalid_argument);
}

TEST(SymbolList, IndexOfFindsListPositions) {
  const auto list = SymbolList::from_csv("zecusdt,btcusdt,adausdt");
  EXPECT_EQ(list.index_of("zecusdt"), 0u);
  EXPECT_EQ(list.index_of("btcusdt"), 1u);
  EXPECT_EQ(list.index_of("adausdt"), 2u);
  EXPECT_FALSE(list.index_of("BTCUSDT").has_value());
  EXPECT_FALSE(list.index_of("ethusdt").has_value());
}

TEST(SymbolList, MergeAppendsOnlyNewSymbols) {
  auto list = SymbolList::from_csv("btcusdt,ethusdt");
  list.merge(SymbolList::from_csv("ethusdt,solusdt"));
  EXPECT_EQ(list.symbols(), (Symbols{"btcusdt", "ethusdt", "solusdt"}));
  EXPECT_EQ(list.index_of("solusdt"), 2u);
}

}  // namespace
}  // namespace tickrelay::sim
