#pragma once
// One side-by-side order book: bids best (highest) first, asks best (lowest)
// first, each price's quantity as Binance sent it. At most `max_levels` per
// side are kept: past that the worst are dropped, so a book's memory is
// bounded whatever the stream sends.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "books/depth_message.hpp"

namespace tickrelay::books {

class OrderBook {
 public:
  explicit OrderBook(std::size_t max_levels) : max_levels_(max_levels) {}

  // Replaces the book with a snapshot's levels.
  void reset(const DepthSnapshot& snapshot);
  // Applies an event's levels: absolute quantities, zero removes.
  void apply(const DepthUpdate& update);
  void clear();

  std::int64_t last_update_id() const { return last_update_id_; }
  void set_last_update_id(std::int64_t id) { last_update_id_ = id; }
  std::size_t bid_levels() const { return bids_.size(); }
  std::size_t ask_levels() const { return asks_.size(); }
  // What the levels hold, roughly: for the memory metric.
  std::size_t bytes() const;

  // Binance's depth answer with at most `limit` levels per side: spot
  // {"lastUpdateId":..,"bids":[..],"asks":[..]}; with `times`, futures'
  // "E" and "T" after lastUpdateId.
  std::string json(std::size_t limit, bool times, std::int64_t event_time, std::int64_t transaction_time) const;

  struct Entry {
    std::string price;
    std::string quantity;
  };
  using Bids = std::map<std::int64_t, Entry, std::greater<>>;
  using Asks = std::map<std::int64_t, Entry>;
  const Bids& bids() const { return bids_; }
  const Asks& asks() const { return asks_; }

 private:
  std::size_t max_levels_;
  std::int64_t last_update_id_ = 0;
  Bids bids_;
  Asks asks_;
};

}  // namespace tickrelay::books
