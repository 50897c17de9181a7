#pragma once
// One order book of the simulated market, per (product, symbol): what the
// diff-depth streams report changes of and the REST depth snapshot returns.
//
// The prices form a fixed grid around the symbol's start price: bids strictly
// below it, asks at it and above, `levels` slots a side, so a bid never
// crosses an ask however the book changes and no level ever falls outside
// the grid. A slot holds a quantity or 0 (no level there). Every change bumps
// the book's update id by one and stamps the slot with it, so the changes
// after any id are read from the slots themselves: no log to bound, and a
// stream that has been quiet for long still gets exactly the levels that
// changed meanwhile, each with its current quantity.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "market_event.hpp"

namespace tickrelay::sim {

enum class BookSide : std::uint8_t { bid, ask };

class DepthBook {
 public:
  // `center` in ticks (>= 2, so one bid fits above 0); `gap` ticks between
  // two slots (>= 1); `levels` slots a side at most (fewer bids when the
  // grid would reach price 0). `lots_per_quote` sizes the quantities (lots of
  // one quote unit at the center price); `first_update_id` is the id of the
  // book as built, with every slot of both sides filled.
  DepthBook(std::int64_t center, std::int64_t gap, std::size_t levels, double lots_per_quote,
            std::uint64_t first_update_id, std::uint64_t seed);

  std::uint64_t update_id() const { return update_id_; }
  std::size_t slots(BookSide side) const { return side_of(side).qty.size(); }
  // Slot 0 is the best price of its side.
  std::int64_t price(BookSide side, std::size_t slot) const;
  std::int64_t qty(BookSide side, std::size_t slot) const { return side_of(side).qty[slot]; }
  std::size_t level_count(BookSide side) const { return side_of(side).filled; }

  // Sets one slot (0 removes the level) and advances the update id by one.
  // A change to the value already there still counts: Binance reports
  // updates, not differences. Returns the new update id.
  std::uint64_t set(BookSide side, std::size_t slot, std::int64_t qty);

  // `count` random changes (a new size, a new level, or a removal), mostly
  // near the top of the book as in a real one; each advances the id by one
  // and really changes its slot.
  void change_randomly(int count);

  // The levels changed after update id `since` (best first), with their
  // current quantity (0: removed), replacing the vectors' contents.
  void changes_since(std::uint64_t since, std::vector<PriceLevel>& bids, std::vector<PriceLevel>& asks) const;

  // The best `limit` levels of each side that exist (best first).
  void top(std::size_t limit, std::vector<PriceLevel>& bids, std::vector<PriceLevel>& asks) const;

 private:
  struct Side {
    std::vector<std::int64_t> qty;          // lots by slot; 0 = no level
    std::vector<std::uint64_t> changed_at;  // update id of the slot's last change
    std::size_t filled = 0;                 // slots with a level
  };
  const Side& side_of(BookSide side) const { return side == BookSide::bid ? bids_ : asks_; }
  Side& side_of(BookSide side) { return side == BookSide::bid ? bids_ : asks_; }
  std::int64_t random_qty();
  std::uint64_t next_random();

  std::int64_t center_;
  std::int64_t gap_;
  double lots_per_quote_;
  std::uint64_t update_id_;
  std::uint64_t rng_;
  Side bids_;
  Side asks_;
};

}  // namespace tickrelay::sim
