#pragma once
// The symbols the simulator trades, as Binance stream names spell them
// (lowercase), in the order the operator listed them.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tickrelay::sim {

class SymbolList {
 public:
  SymbolList() = default;

  // One symbol per line: `BINANCE:BTCUSDT` or `btcusdt`; blank lines and `#`
  // comments are skipped, whitespace is trimmed. Throws std::invalid_argument
  // "<source>:<line>: ..." on an invalid line; std::runtime_error if the file
  // cannot be read. Startup only.
  static SymbolList from_file(const std::string& path);
  static SymbolList from_text(std::string_view text, std::string_view source);

  // The --symbols value: comma-separated, same spellings as a file line.
  // Throws std::invalid_argument "--symbols item <n>: ...".
  static SymbolList from_csv(std::string_view csv);

  // Appends the symbols of `other` not already present, keeping order.
  void merge(const SymbolList& other);

  // Adds one lowercase, already-validated symbol; false if already present.
  bool add(std::string symbol);

  // Position of a lowercase symbol, as used by StreamSpec and MarketModel.
  std::optional<std::size_t> index_of(std::string_view symbol) const;

  const std::vector<std::string>& symbols() const { return symbols_; }
  std::size_t size() const { return symbols_.size(); }
  bool empty() const { return symbols_.empty(); }
  const std::string& operator[](std::size_t i) const { return symbols_[i]; }

 private:
  std::vector<std::string> symbols_;
  // Sorted by name for lookups; the list itself keeps the operator's order.
  std::vector<std::pair<std::string, std::size_t>> sorted_;
};

}  // namespace tickrelay::sim
