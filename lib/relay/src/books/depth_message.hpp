#pragma once
// Reads Binance's order-book messages: a diff-depth event (spot
// `depthUpdate` with U and u, futures with pu too) and a REST depth snapshot
// (`lastUpdateId`, bids, asks). Prices and quantities stay the decimal
// strings Binance sent; each price also gets an integer key (the price in
// units of 1e-8, the finest precision Binance quotes) that orders the book.
// Both come from the network: anything else is refused with a reason.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tickrelay::books {

struct PriceLevel {
  std::int64_t key = 0;  // price * 1e8
  std::string price;
  std::string quantity;
  bool removes() const;  // a quantity of zero removes the level
};

struct DepthUpdate {
  std::int64_t event_time = 0;          // E
  std::int64_t transaction_time = 0;    // T (futures), 0 when absent
  std::int64_t first_id = 0;            // U
  std::int64_t final_id = 0;            // u
  std::int64_t previous_final_id = -1;  // pu (futures), -1 when absent
  std::vector<PriceLevel> bids;
  std::vector<PriceLevel> asks;
};

struct DepthSnapshot {
  std::int64_t last_update_id = 0;
  std::int64_t event_time = 0;        // E (futures), 0 when absent
  std::int64_t transaction_time = 0;  // T (futures), 0 when absent
  std::vector<PriceLevel> bids;
  std::vector<PriceLevel> asks;
};

// "12345.678" as units of 1e-8; false for anything but digits with at most
// one point and eight decimals, or a value past 9e10.
bool price_key(std::string_view text, std::int64_t& key);
// Digits with at most one point (a quantity, of any size).
bool is_decimal(std::string_view text);

class DepthParser {
 public:
  // Levels per side accepted in one message; Binance sends at most 5000.
  static constexpr std::size_t kMaxLevels = 10000;

  DepthParser();
  ~DepthParser();
  DepthParser(const DepthParser&) = delete;
  DepthParser& operator=(const DepthParser&) = delete;

  // `message` is the event as the upstream sent it, raw or in its combined
  // envelope ({"stream":..,"data":{...}}). Returns null on success, else why.
  const char* parse_update(std::string_view message, DepthUpdate& out);
  const char* parse_snapshot(std::string_view body, DepthSnapshot& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tickrelay::books
