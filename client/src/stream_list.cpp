#include "stream_list.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <stdexcept>

namespace tickrelay::client {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

std::vector<std::string> read_symbols_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    throw std::runtime_error("cannot read symbols file " + path);
  }
  std::vector<std::string> symbols;
  std::string line;
  while (std::getline(in, line)) {
    std::string_view item = trim(line);
    if (item.empty() || item.front() == '#') continue;
    // "EXCHANGE:SYMBOL" as in TradingView-style lists.
    if (const auto colon = item.rfind(':'); colon != std::string_view::npos) item.remove_prefix(colon + 1);
    std::string symbol(trim(item));
    std::transform(symbol.begin(), symbol.end(), symbol.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (!symbol.empty()) symbols.push_back(std::move(symbol));
  }
  return symbols;
}

std::vector<std::string> split_list(std::string_view list) {
  std::vector<std::string> items;
  while (!list.empty()) {
    const auto comma = list.find(',');
    const std::string_view item = trim(list.substr(0, comma));
    if (!item.empty()) items.emplace_back(item);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return items;
}

std::vector<std::string> expand_template(std::string_view templ, const std::vector<std::string>& symbols) {
  static constexpr std::string_view kPlaceholder = "{symbol}";
  const auto at = templ.find(kPlaceholder);
  if (at == std::string_view::npos) {
    throw std::invalid_argument("template \"" + std::string(templ) + "\" has no {symbol}");
  }
  std::vector<std::string> streams;
  streams.reserve(symbols.size());
  for (const auto& symbol : symbols) {
    std::string stream(templ);
    stream.replace(at, kPlaceholder.size(), symbol);
    streams.push_back(std::move(stream));
  }
  return streams;
}

}  // namespace tickrelay::client
