#include "books/order_book.hpp"

namespace tickrelay::books {
namespace {

template <class Side>
void set_levels(Side& side, const std::vector<PriceLevel>& levels, std::size_t max_levels) {
  for (const auto& level : levels) {
    if (level.removes()) {
      side.erase(level.key);
      continue;
    }
    auto& entry = side[level.key];
    entry.price = level.price;
    entry.quantity = level.quantity;
  }
  while (side.size() > max_levels) side.erase(std::prev(side.end()));
}

template <class Side>
void append_side(std::string& out, const Side& side, std::size_t limit) {
  out += '[';
  std::size_t n = 0;
  for (const auto& [key, entry] : side) {
    if (n == limit) break;
    if (n++ != 0) out += ',';
    out += "[\"";
    out += entry.price;
    out += "\",\"";
    out += entry.quantity;
    out += "\"]";
  }
  out += ']';
}

}  // namespace

void OrderBook::reset(const DepthSnapshot& snapshot) {
  clear();
  DepthUpdate levels;
  levels.bids = snapshot.bids;
  levels.asks = snapshot.asks;
  apply(levels);
  last_update_id_ = snapshot.last_update_id;
}

void OrderBook::apply(const DepthUpdate& update) {
  set_levels(bids_, update.bids, max_levels_);
  set_levels(asks_, update.asks, max_levels_);
}

void OrderBook::clear() {
  bids_.clear();
  asks_.clear();
  last_update_id_ = 0;
}

std::size_t OrderBook::bytes() const {
  // A map node: three pointers, a colour, the key and two strings.
  constexpr std::size_t kNode = 4 * sizeof(void*) + sizeof(std::int64_t) + sizeof(Entry);
  return (bids_.size() + asks_.size()) * kNode;
}

std::string OrderBook::json(std::size_t limit, bool times, std::int64_t event_time,
                            std::int64_t transaction_time) const {
  std::string out;
  const std::size_t levels = std::min(limit, bids_.size()) + std::min(limit, asks_.size());
  out.reserve(64 + levels * 32);
  out += R"({"lastUpdateId":)";
  out += std::to_string(last_update_id_);
  if (times) {
    out += R"(,"E":)";
    out += std::to_string(event_time);
    out += R"(,"T":)";
    out += std::to_string(transaction_time);
  }
  out += R"(,"bids":)";
  append_side(out, bids_, limit);
  out += R"(,"asks":)";
  append_side(out, asks_, limit);
  out += '}';
  return out;
}

}  // namespace tickrelay::books
