#include "symbol_list.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace tickrelay::sim {
namespace {

// The study's pair list is written as TradingView tickers (`BINANCE:BTCUSDT`);
// the exchange prefix is accepted so that file works unchanged.
constexpr std::string_view kExchangePrefix = "binance:";

std::string_view trim(std::string_view s) {
  const auto is_space = [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
  };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (lower(s[i]) != prefix[i]) return false;
  }
  return true;
}

// Normalizes one spelling to a lowercase symbol; on failure returns nothing
// and sets `why`.
std::optional<std::string> normalize(std::string_view item, std::string& why) {
  std::string_view symbol = item;
  if (starts_with_nocase(symbol, kExchangePrefix)) {
    symbol.remove_prefix(kExchangePrefix.size());
    if (symbol.empty()) {
      why = "empty symbol after \"BINANCE:\"";
      return std::nullopt;
    }
  }
  std::string out;
  out.reserve(symbol.size());
  for (char c : symbol) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!ok) {
      why = "invalid symbol \"" + std::string(item) + "\": only letters A-Z, a-z and digits 0-9 are allowed";
      return std::nullopt;
    }
    out.push_back(lower(c));
  }
  return out;
}

}  // namespace

SymbolList SymbolList::from_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read symbols file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw std::runtime_error("cannot read symbols file " + path);
  return from_text(text.str(), path);
}

SymbolList SymbolList::from_text(std::string_view text, std::string_view source) {
  SymbolList list;
  std::size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (const auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    line = trim(line);
    if (line.empty()) continue;
    std::string why;
    auto symbol = normalize(line, why);
    if (!symbol) {
      throw std::invalid_argument(std::string(source) + ":" + std::to_string(line_number) + ": " + why);
    }
    list.add(std::move(*symbol));
  }
  if (list.empty()) throw std::invalid_argument(std::string(source) + ": no symbols");
  return list;
}

SymbolList SymbolList::from_csv(std::string_view csv) {
  SymbolList list;
  std::size_t item_number = 0;
  for (;;) {
    ++item_number;
    const auto comma = csv.find(',');
    const std::string_view item = trim(csv.substr(0, comma));
    std::string why = "empty symbol";
    auto symbol = item.empty() ? std::nullopt : normalize(item, why);
    if (!symbol) {
      throw std::invalid_argument("--symbols item " + std::to_string(item_number) + ": " + why);
    }
    list.add(std::move(*symbol));
    if (comma == std::string_view::npos) break;
    csv.remove_prefix(comma + 1);
  }
  return list;
}

void SymbolList::merge(const SymbolList& other) {
  for (const auto& symbol : other.symbols_) add(symbol);
}

bool SymbolList::add(std::string symbol) {
  const auto at = std::lower_bound(sorted_.begin(), sorted_.end(), symbol,
                                   [](const auto& entry, const std::string& key) { return entry.first < key; });
  if (at != sorted_.end() && at->first == symbol) return false;
  sorted_.emplace(at, symbol, symbols_.size());
  symbols_.push_back(std::move(symbol));
  return true;
}

std::optional<std::size_t> SymbolList::index_of(std::string_view symbol) const {
  const auto at = std::lower_bound(sorted_.begin(), sorted_.end(), symbol,
                                   [](const auto& entry, std::string_view key) { return entry.first < key; });
  if (at == sorted_.end() || at->first != symbol) return std::nullopt;
  return at->second;
}

}  // namespace tickrelay::sim
