#include "market_model.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <string_view>
#include <utility>

#include "splitmix.hpp"
#include "symbol_list.hpp"

namespace tickrelay::sim {
namespace {

constexpr std::int64_t kSecondUs = 1'000'000;
constexpr std::int64_t kDayUs = 86'400 * kSecondUs;
// Funding settles at 00:00, 08:00 and 16:00 UTC on USD-M futures.
constexpr std::int64_t kFundingPeriodUs = 8 * 3600 * kSecondUs;

// Relative size of one step of the walk (uniform in ±kStep): a few basis
// points per trade, as a liquid pair moves.
constexpr double kStep = 2e-4;
// Pull back towards the start price, so a long run at a high rate stays near
// realistic magnitudes (stationary spread about ±7 %) instead of drifting to
// dust or to the clamps.
constexpr double kReversion = 2e-6;
// Hard bounds on the walk, relative to the start price: never near zero.
constexpr double kMinFactor = 0.1;
constexpr double kMaxFactor = 10.0;
// Bid-ask spread as a fraction of the price (at least one tick).
constexpr double kSpread = 1e-5;
// Start prices of the best-known pairs, so a demo looks familiar; every
// other symbol gets a log-uniform price in [kMinStart, kMaxStart].
constexpr std::array<std::pair<std::string_view, double>, 10> kKnownStarts{{
    {"btcusdt", 60000.0},
    {"ethusdt", 3000.0},
    {"bnbusdt", 600.0},
    {"solusdt", 150.0},
    {"xrpusdt", 0.5},
    {"dogeusdt", 0.1},
    {"adausdt", 0.4},
    {"ltcusdt", 80.0},
    {"trxusdt", 0.12},
    {"linkusdt", 15.0},
}};
constexpr double kMinStart = 0.01;
constexpr double kMaxStart = 60000.0;

double unit(std::uint64_t& state) { return unit_interval(state); }

// Stable per name, so a symbol's or stream's numbers do not depend on the
// order of the list or of subscriptions.
std::uint64_t name_hash(std::string_view name, std::uint64_t seed) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : name) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  std::uint64_t state = h ^ seed;
  return splitmix(state);
}

std::int64_t pow10(int n) {
  std::int64_t p = 1;
  while (n-- > 0) p *= 10;
  return p;
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

std::int64_t fixed_length_us(KlineInterval interval) {
  constexpr std::int64_t m = 60 * kSecondUs;
  constexpr std::int64_t h = 60 * m;
  switch (interval) {
    case KlineInterval::s1: return kSecondUs;
    case KlineInterval::m1: return m;
    case KlineInterval::m3: return 3 * m;
    case KlineInterval::m5: return 5 * m;
    case KlineInterval::m15: return 15 * m;
    case KlineInterval::m30: return 30 * m;
    case KlineInterval::h1: return h;
    case KlineInterval::h2: return 2 * h;
    case KlineInterval::h4: return 4 * h;
    case KlineInterval::h6: return 6 * h;
    case KlineInterval::h8: return 8 * h;
    case KlineInterval::h12: return 12 * h;
    case KlineInterval::d1: return kDayUs;
    case KlineInterval::d3: return 3 * kDayUs;
    case KlineInterval::w1: return 7 * kDayUs;
    case KlineInterval::mo1: return 0;  // calendar months vary
  }
  return kDayUs;
}

// Starting point (first id) of a stream's counter, in the magnitudes Binance
// shows today, so clients parse realistic widths from the first event.
std::uint64_t first_id(StreamKind kind, std::uint64_t hash) {
  switch (kind) {
    case StreamKind::book_ticker:
    case StreamKind::partial_depth:
    case StreamKind::diff_depth: return 10'000'000'000ULL + hash % 60'000'000'000ULL;
    default: return 100'000'000ULL + hash % 4'000'000'000ULL;
  }
}

}  // namespace

std::int64_t kline_open_time_us(KlineInterval interval, std::int64_t unix_us) {
  using namespace std::chrono;
  const std::int64_t day = floor_div(unix_us, kDayUs);
  if (interval == KlineInterval::w1) {
    // 1970-01-01 was a Thursday; Binance's weekly bars open on Monday.
    const std::int64_t since_monday = ((day - 4) % 7 + 7) % 7;
    return (day - since_monday) * kDayUs;
  }
  if (interval == KlineInterval::mo1) {
    const year_month_day ymd{sys_days{days{day}}};
    const sys_days first{ymd.year() / ymd.month() / 1};
    return static_cast<std::int64_t>(first.time_since_epoch().count()) * kDayUs;
  }
  const std::int64_t length = fixed_length_us(interval);
  return floor_div(unix_us, length) * length;
}

std::int64_t kline_close_time_us(KlineInterval interval, std::int64_t open_us) {
  using namespace std::chrono;
  if (interval == KlineInterval::mo1) {
    const year_month_day ymd{sys_days{days{floor_div(open_us, kDayUs)}}};
    const sys_days next{(ymd.year() / ymd.month() / 1) + months{1}};
    return static_cast<std::int64_t>(next.time_since_epoch().count()) * kDayUs - 1;
  }
  return open_us + fixed_length_us(interval) - 1;
}

MarketModel::MarketModel(const SymbolList& symbols, std::uint64_t seed, std::int64_t start_us, std::size_t book_levels)
    : seed_(seed), book_levels_(std::max<std::size_t>(1, book_levels)) {
  symbols_.reserve(symbols.size());
  walks_.reserve(symbols.size());
  for (const auto& lower : symbols.symbols()) {
    Walk walk;
    walk.rng = name_hash(lower, seed);
    double start = 0;
    for (const auto& [name, price] : kKnownStarts) {
      if (name == lower) start = price;
    }
    if (start == 0) start = kMinStart * std::pow(kMaxStart / kMinStart, unit(walk.rng));
    // About five significant digits of price, as Binance's tick sizes give.
    const int magnitude = static_cast<int>(std::floor(std::log10(start)));

    SymbolState state;
    state.name.reserve(lower.size());
    for (char c : lower) state.name.push_back((c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c);
    state.price_decimals = std::clamp(5 - magnitude, 2, 8);
    state.qty_decimals = std::clamp(magnitude + 1, 0, 8);
    walk.lot_scale = pow10(state.qty_decimals);
    walk.lots_per_quote_tick = static_cast<double>(pow10(state.price_decimals) * walk.lot_scale);
    walk.quote_divisor = pow10(state.price_decimals + state.qty_decimals - 2);
    walk.mid = start * static_cast<double>(pow10(state.price_decimals));
    walk.anchor = walk.mid;

    state.price = std::max<std::int64_t>(1, std::llround(walk.mid));
    state.bid = state.price;
    state.ask = state.price + 1;
    state.window_start_us = start_us;
    state.open = state.high = state.low = state.price;
    state.first_trade_id = first_id(StreamKind::trade, splitmix(walk.rng));
    state.last_trade_id = state.first_trade_id - 1;  // no trade yet: n = 0
    symbols_.push_back(std::move(state));
    walks_.push_back(walk);
  }
  books_.resize(2 * symbols_.size());
}

DepthBook& MarketModel::book(Flavour product, std::size_t symbol_index) {
  auto& slot = books_[(product == Flavour::spot ? 0 : symbols_.size()) + symbol_index];
  if (!slot) {
    const Walk& w = walks_[symbol_index];
    const std::string key = (product == Flavour::spot ? "spot-book:" : "usdm-book:") + symbols_[symbol_index].name;
    const std::uint64_t hash = name_hash(key, seed_);
    std::uint64_t state = hash;
    const std::uint64_t book_seed = splitmix(state);
    const std::int64_t center = std::max<std::int64_t>(2, std::llround(w.anchor));
    // The partial-depth streams' spacing: 0.001 % of the price, at least a tick.
    const std::int64_t gap = std::max<std::int64_t>(1, center / 100'000);
    slot = std::make_unique<DepthBook>(center, gap, book_levels_, w.lots_per_quote_tick / w.anchor,
                                       first_id(StreamKind::diff_depth, hash), book_seed);
  }
  return *slot;
}

StreamId MarketModel::open_stream(const StreamSpec& spec, Flavour product) {
  std::string key = (product == Flavour::spot ? "spot:" : "usdm:") + spec.name;
  if (const auto it = by_key_.find(key); it != by_key_.end()) return it->second;
  StreamState stream;
  stream.spec = spec;
  stream.product = product;
  const std::uint64_t hash = name_hash(key, seed_);
  stream.next_id = first_id(spec.kind, hash);
  // Trade ids run ahead of aggregate ids: each aggregate covers 1-3 trades.
  stream.next_trade_id = stream.next_id + stream.next_id / 2;
  stream.bar.interval = spec.interval;
  // A new stream reports the changes from its opening on.
  if (spec.kind == StreamKind::diff_depth) stream.book_seen = book(product, spec.symbol_index).update_id();
  const auto id = static_cast<StreamId>(streams_.size());
  streams_.push_back(std::move(stream));
  by_key_.emplace(std::move(key), id);
  return id;
}

Endpoint MarketModel::endpoint(StreamId stream) const {
  const StreamState& state = streams_[stream];
  return state.product == Flavour::spot ? Endpoint::spot : usdm_endpoint_for(state.spec.kind);
}

void MarketModel::step(std::size_t index, std::int64_t now_us) {
  SymbolState& s = symbols_[index];
  Walk& w = walks_[index];

  const double u = 2.0 * unit(w.rng) - 1.0;
  w.mid *= 1.0 + kStep * u - kReversion * (w.mid / w.anchor - 1.0);
  w.mid = std::clamp(w.mid, w.anchor * kMinFactor, w.anchor * kMaxFactor);

  const std::int64_t spread = std::max<std::int64_t>(1, std::llround(w.mid * kSpread));
  s.bid = std::max<std::int64_t>(1, std::llround(w.mid - static_cast<double>(spread) / 2.0));
  s.ask = s.bid + spread;

  const std::uint64_t bits = splitmix(w.rng);
  // The aggressor lifts the ask or hits the bid; the price is that side's.
  s.last_buyer_maker = (bits & 1) != 0;
  s.price = s.last_buyer_maker ? s.bid : s.ask;
  // Trade sizes skewed towards small tickets: 10 to 5000 quote units.
  const double f = static_cast<double>((bits >> 11) & 0xFFFFF) / 1048576.0;
  const double notional = 10.0 + 4990.0 * f * f * f;
  const double lots_per_quote = w.lots_per_quote_tick / w.mid;
  const auto lots = [&](double quote) {
    return std::max<std::int64_t>(1, static_cast<std::int64_t>(quote * lots_per_quote + 0.5));
  };
  s.last_qty = lots(notional);
  s.bid_qty = lots(50.0 + 20000.0 * static_cast<double>((bits >> 32) & 0xFFFF) / 65536.0);
  s.ask_qty = lots(50.0 + 20000.0 * static_cast<double>((bits >> 48) & 0xFFFF) / 65536.0);

  if (now_us - s.window_start_us >= kDayUs) {
    s.window_start_us += floor_div(now_us - s.window_start_us, kDayUs) * kDayUs;
    s.open = s.high = s.low = s.price;
    s.volume = 0;
    s.quote_cents = 0;
    s.first_trade_id = s.last_trade_id + 1;
  }
  ++s.last_trade_id;
  s.high = std::max(s.high, s.price);
  s.low = std::min(s.low, s.price);
  s.volume += s.last_qty;
  s.quote_cents += s.price * s.last_qty / w.quote_divisor;
}

void MarketModel::advance_kline(StreamState& stream, const SymbolState& s, std::int64_t now_us) {
  KlineBar& bar = stream.bar;
  const std::int64_t quote = s.price * s.last_qty / walks_[stream.spec.symbol_index].quote_divisor;
  const bool taker_buy = !s.last_buyer_maker;
  if (!stream.bar_open || bar.closed) {
    bar.open_time_us = kline_open_time_us(bar.interval, now_us);
    bar.close_time_us = kline_close_time_us(bar.interval, bar.open_time_us);
    bar.first_id = bar.last_id = stream.next_id++;
    bar.open = bar.high = bar.low = bar.close = s.price;
    bar.volume = s.last_qty;
    bar.quote_cents = quote;
    bar.taker_volume = taker_buy ? s.last_qty : 0;
    bar.taker_quote_cents = taker_buy ? quote : 0;
    bar.closed = false;
    stream.bar_open = true;
    return;
  }
  bar.last_id = stream.next_id++;
  bar.high = std::max(bar.high, s.price);
  bar.low = std::min(bar.low, s.price);
  bar.close = s.price;
  bar.volume += s.last_qty;
  bar.quote_cents += quote;
  if (taker_buy) {
    bar.taker_volume += s.last_qty;
    bar.taker_quote_cents += quote;
  }
  // The first event after the bar's end closes it (x=true), as Binance's
  // final update arrives just after T; the next event opens a new bar.
  bar.closed = now_us > bar.close_time_us;
}

void MarketModel::fill_depth(StreamState& stream, std::size_t index) {
  const SymbolState& s = symbols_[index];
  Walk& w = walks_[index];
  const std::int64_t gap = std::max<std::int64_t>(1, s.price / 100'000);
  // Lots per unit of quote at the current price; level sizes are 20 to
  // 40,020 quote units.
  const double lots_per_quote = w.lots_per_quote_tick / w.mid;
  const auto qty = [&](std::uint64_t r) {
    const double quote = 20.0 + 40000.0 * static_cast<double>(r & 0xFFFF) / 65536.0;
    return std::max<std::int64_t>(1, static_cast<std::int64_t>(quote * lots_per_quote + 0.5));
  };
  int levels = 0;
  for (int i = 0; i < stream.spec.depth_levels; ++i) {
    const std::int64_t bid = s.bid - i * gap;
    if (bid < 1) break;  // never a zero or negative price level
    const std::uint64_t bits = splitmix(w.rng);
    event_.bids[static_cast<std::size_t>(i)] = {bid, qty(bits)};
    event_.asks[static_cast<std::size_t>(i)] = {s.ask + i * gap, qty(bits >> 16)};
    ++levels;
  }
  event_.bids[0].qty = s.bid_qty;
  event_.asks[0].qty = s.ask_qty;
  event_.depth_levels = levels;
}

void MarketModel::fill_mark(std::size_t index, std::int64_t now_us) {
  const SymbolState& s = symbols_[index];
  Walk& w = walks_[index];
  const std::int64_t to_e8 = pow10(8 - s.price_decimals);
  const std::int64_t mark = (s.bid + s.ask) / 2;
  const std::int64_t mark_e8 = mark * to_e8;
  const std::uint64_t bits = splitmix(w.rng);
  // Index within ±0.01 % of the mark; funding between -0.005 % and 0.025 %.
  const auto deviation = static_cast<std::int64_t>(static_cast<double>(mark_e8) * 1e-4 *
                                                   (static_cast<double>(bits & 0xFFFF) / 32768.0 - 1.0));
  MarkData& m = event_.mark;
  m.mark = mark;
  m.index_e8 = std::max<std::int64_t>(1, mark_e8 + deviation);
  m.settle_e8 = std::max<std::int64_t>(1, m.index_e8 + deviation / 4);
  m.funding_rate_e8 = 10'000 + static_cast<std::int64_t>((bits >> 16) % 30'001) - 15'000;
  m.next_funding_us = (floor_div(now_us, kFundingPeriodUs) + 1) * kFundingPeriodUs;
}

const Event& MarketModel::advance(StreamId id, std::int64_t now_us) {
  StreamState& stream = streams_[id];
  ++stream.sequence;
  Event& ev = event_;
  ev.kind = stream.spec.kind;
  ev.time_us = now_us;
  if (ev.kind == StreamKind::all_mini_tickers) {
    // Every symbol moves, so the array reports a change for each one (Binance
    // lists only tickers that changed).
    for (std::size_t i = 0; i < symbols_.size(); ++i) step(i, now_us);
    ev.symbol = nullptr;
    ev.symbols = symbols_;
    return ev;
  }
  const std::size_t index = stream.spec.symbol_index;
  step(index, now_us);
  const SymbolState& s = symbols_[index];
  ev.symbol = &s;
  ev.symbols = {};
  switch (ev.kind) {
    case StreamKind::trade:
      ev.id = stream.next_id++;
      ev.price = s.price;
      ev.qty = s.last_qty;
      ev.buyer_maker = s.last_buyer_maker;
      break;
    case StreamKind::agg_trade: {
      ev.id = stream.next_id++;
      const auto trades = 1 + splitmix(walks_[index].rng) % 3;
      ev.first_id = stream.next_trade_id;
      ev.last_id = stream.next_trade_id + trades - 1;
      stream.next_trade_id += trades;
      ev.price = s.price;
      ev.qty = s.last_qty;
      ev.buyer_maker = s.last_buyer_maker;
      break;
    }
    case StreamKind::kline:
      advance_kline(stream, s, now_us);
      ev.kline = stream.bar;
      ev.id = stream.bar.last_id;
      break;
    case StreamKind::book_ticker: ev.id = stream.next_id++; break;
    case StreamKind::partial_depth:
      // One book update per event: U = u, and pu is the previous event's u,
      // so a skipped event shows as pu != last u.
      ev.id = stream.next_id++;
      ev.first_id = ev.id;
      ev.prev_id = ev.id - 1;
      fill_depth(stream, index);
      break;
    case StreamKind::diff_depth: {
      DepthBook& b = book(stream.product, index);
      // A few changes per event, as a liquid book moves between two updates.
      b.change_randomly(1 + static_cast<int>(splitmix(walks_[index].rng) % 4));
      ev.first_id = stream.book_seen + 1;
      ev.prev_id = stream.book_seen;
      ev.id = b.update_id();
      b.changes_since(stream.book_seen, ev.changed_bids, ev.changed_asks);
      stream.book_seen = ev.id;
      break;
    }
    case StreamKind::mark_price: fill_mark(index, now_us); break;
    case StreamKind::mini_ticker:
    case StreamKind::ticker:
    case StreamKind::all_mini_tickers: break;
  }
  return ev;
}

void MarketModel::skip(StreamId stream, std::int64_t now_us) {
  // The lost event still happened in the market: prices, volumes and ids
  // move exactly as if it had been sent.
  (void)advance(stream, now_us);
}

}  // namespace tickrelay::sim
