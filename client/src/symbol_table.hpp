#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "message_processor.hpp"

namespace tickrelay::client {

// Price state of one symbol as seen by one thread for one target.
struct SymbolState {
  std::string name;
  double first_price = 0;
  double last_price = 0;
  double change_pct = 0;
  std::uint64_t first_time = 0;  // event time of the first price (as sent)
  std::uint64_t last_time = 0;
  std::uint64_t updates = 0;
  // The change is relative to first_price (trades, book tickers) rather
  // than carried by the event (klines, tickers).
  bool change_from_first = false;
  bool above_alert = false;  // |change| is past the alert threshold
};

// A symbol whose change crossed the alert threshold, either way.
struct AlertCrossing {
  std::string_view symbol;
  double change_pct;
  double price;
  bool above;
};

// Symbols by name: interned to small ids once, then the per-message update is
// an array access. One table per thread; names are owned here.
class SymbolTable {
 public:
  // alert_pct <= 0 disables alerts.
  explicit SymbolTable(double alert_pct = 0) : alert_pct_(alert_pct) {}

  std::uint32_t intern(std::string_view symbol);
  // Applies a priced event unless it is older (by E) than what the symbol
  // already shows; returns the crossing when |change| passes the alert
  // threshold or falls back below it.
  std::optional<AlertCrossing> update(std::uint32_t id, const MarketEvent& event);

  const std::vector<SymbolState>& states() const { return states_; }
  std::size_t size() const { return states_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  std::unordered_map<std::string, std::uint32_t, Hash, std::equal_to<>> ids_;
  std::vector<SymbolState> states_;
  double alert_pct_;
};

// Merges per-thread views of the same symbols: the earliest first price and
// the latest last price win, and changes against the first price are taken
// again from the merged pair.
void merge_symbol_states(std::vector<SymbolState>& into, const std::vector<SymbolState>& from);

// The `limit` symbols with the largest |change|, largest first.
std::vector<SymbolState> top_movers(std::vector<SymbolState> states, std::size_t limit);

}  // namespace tickrelay::client
