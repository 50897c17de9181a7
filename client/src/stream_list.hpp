#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace tickrelay::client {

// Symbols from a file such as config/usdt-pairs.txt: one per line, either
// "BINANCE:BTCUSDT" or "btcusdt"; blank lines and '#' comments are skipped.
// Returned lowercase, as Binance stream names require. Throws
// std::runtime_error naming the file when it cannot be read.
std::vector<std::string> read_symbols_file(const std::string& path);

// Splits "a,b,c" into trimmed, non-empty items.
std::vector<std::string> split_list(std::string_view list);

// "{symbol}@kline_1h" with each symbol put in place of {symbol}. Throws
// std::invalid_argument when the template has no {symbol}.
std::vector<std::string> expand_template(std::string_view templ, const std::vector<std::string>& symbols);

}  // namespace tickrelay::client
