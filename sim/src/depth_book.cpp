#include "depth_book.hpp"

#include <algorithm>
#include <utility>

#include "splitmix.hpp"

namespace tickrelay::sim {
namespace {

// Level sizes: 20 to 40,020 quote units, as the partial-depth streams show.
constexpr double kMinQuote = 20.0;
constexpr double kQuoteSpan = 40000.0;
// Three changes in ten remove a level, so about three quarters of the slots
// hold one at any time (a slot is refilled whenever a change hits it empty).
constexpr std::uint64_t kRemoveInTen = 3;

}  // namespace

DepthBook::DepthBook(std::int64_t center, std::int64_t gap, std::size_t levels, double lots_per_quote,
                     std::uint64_t first_update_id, std::uint64_t seed)
    : center_(std::max<std::int64_t>(2, center)),
      gap_(std::max<std::int64_t>(1, gap)),
      lots_per_quote_(lots_per_quote),
      update_id_(first_update_id),
      rng_(seed) {
  levels = std::max<std::size_t>(1, levels);
  // Bids stop above price 0: at least one fits, since center >= 2.
  const auto bid_slots = std::min<std::size_t>(levels, static_cast<std::size_t>(
                                                           std::max<std::int64_t>(1, (center_ - 1) / gap_)));
  for (auto [side, count] : {std::pair{&bids_, bid_slots}, std::pair{&asks_, levels}}) {
    side->qty.resize(count);
    side->changed_at.assign(count, first_update_id);
    for (auto& q : side->qty) q = random_qty();
    side->filled = count;
  }
}

std::uint64_t DepthBook::next_random() { return splitmix(rng_); }

std::int64_t DepthBook::random_qty() {
  const double quote = kMinQuote + kQuoteSpan * static_cast<double>(next_random() & 0xFFFF) / 65536.0;
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(quote * lots_per_quote_ + 0.5));
}

std::int64_t DepthBook::price(BookSide side, std::size_t slot) const {
  const auto offset = static_cast<std::int64_t>(slot) * gap_;
  return side == BookSide::bid ? center_ - gap_ - offset : center_ + offset;
}

std::uint64_t DepthBook::set(BookSide side, std::size_t slot, std::int64_t qty) {
  Side& s = side_of(side);
  qty = std::max<std::int64_t>(0, qty);
  if ((s.qty[slot] == 0) != (qty == 0)) {
    if (qty == 0) {
      --s.filled;
    } else {
      ++s.filled;
    }
  }
  s.qty[slot] = qty;
  s.changed_at[slot] = ++update_id_;
  return update_id_;
}

void DepthBook::change_randomly(int count) {
  for (int i = 0; i < count; ++i) {
    const std::uint64_t bits = next_random();
    const BookSide side = (bits & 1) != 0 ? BookSide::bid : BookSide::ask;
    const Side& s = side_of(side);
    // Cubed uniform: most changes land in the first tenth of the book.
    const double u = static_cast<double>((bits >> 11) & 0xFFFFF) / 1048576.0;
    const auto slot = std::min(s.qty.size() - 1,
                               static_cast<std::size_t>(u * u * u * static_cast<double>(s.qty.size())));
    const std::int64_t current = s.qty[slot];
    std::int64_t qty = 0;
    // Never the last level of a side: a book with an empty side has no mid.
    const bool remove = current != 0 && s.filled > 1 && (bits >> 1) % 10 < kRemoveInTen;
    if (!remove) {
      qty = random_qty();
      if (qty == current) ++qty;  // a real change, so every update id moves a level
    }
    set(side, slot, qty);
  }
}

void DepthBook::changes_since(std::uint64_t since, std::vector<PriceLevel>& bids, std::vector<PriceLevel>& asks) const {
  for (auto [side, out] : {std::pair{BookSide::bid, &bids}, std::pair{BookSide::ask, &asks}}) {
    const Side& s = side_of(side);
    out->clear();
    for (std::size_t slot = 0; slot < s.qty.size(); ++slot) {
      if (s.changed_at[slot] > since) out->push_back({price(side, slot), s.qty[slot]});
    }
  }
}

void DepthBook::top(std::size_t limit, std::vector<PriceLevel>& bids, std::vector<PriceLevel>& asks) const {
  for (auto [side, out] : {std::pair{BookSide::bid, &bids}, std::pair{BookSide::ask, &asks}}) {
    const Side& s = side_of(side);
    out->clear();
    for (std::size_t slot = 0; slot < s.qty.size() && out->size() < limit; ++slot) {
      if (s.qty[slot] != 0) out->push_back({price(side, slot), s.qty[slot]});
    }
  }
}

}  // namespace tickrelay::sim
