#include "event_renderer.hpp"

#include <array>
#include <charconv>
#include <cstring>
#include <span>

namespace tickrelay::sim {
namespace {

// Worst case of one number as we print it: sign, 19 digits, point, 8
// decimals, quotes. Buffers are sized from it so writing needs no checks.
constexpr std::size_t kMaxNumber = 32;
// Field names, punctuation and event names of the largest single-symbol
// payload (the spot ticker: 23 fields) stay well inside this.
constexpr std::size_t kMaxFixedPart = 512;
constexpr std::size_t kMaxFields = 24;
// One ["price","qty"] pair with its comma.
constexpr std::size_t kMaxLevelBytes = 2 * kMaxNumber + 4;
// Binance spot prints every price and quantity with 8 decimals.
constexpr int kSpotDecimals = 8;
// Quote volumes are kept in cents; futures print them with 2 decimals.
constexpr int kQuoteDecimals = 2;
// Price change percent: Binance prints three decimals.
constexpr int kPercentDecimals = 3;
// The stream of the unsubscribed-stream malformed frame.
constexpr std::string_view kUnsubscribedStream = "nosuchusdt@trade";

constexpr std::array<std::int64_t, 19> kPow10 = {1LL,
                                                 10LL,
                                                 100LL,
                                                 1000LL,
                                                 10000LL,
                                                 100000LL,
                                                 1000000LL,
                                                 10000000LL,
                                                 100000000LL,
                                                 1000000000LL,
                                                 10000000000LL,
                                                 100000000000LL,
                                                 1000000000000LL,
                                                 10000000000000LL,
                                                 100000000000000LL,
                                                 1000000000000000LL,
                                                 10000000000000000LL,
                                                 100000000000000000LL,
                                                 1000000000000000000LL};

// Appends through a raw pointer into space reserved beforehand.
class Writer {
 public:
  explicit Writer(char* at) : at_(at) {}
  char* at() const { return at_; }

  template <std::size_t N>
  void lit(const char (&text)[N]) {
    std::memcpy(at_, text, N - 1);
    at_ += N - 1;
  }
  void raw(std::string_view text) {
    std::memcpy(at_, text.data(), text.size());
    at_ += text.size();
  }
  void ch(char c) { *at_++ = c; }
  void u64(std::uint64_t value) { at_ = std::to_chars(at_, at_ + kMaxNumber, value).ptr; }
  void i64(std::int64_t value) { at_ = std::to_chars(at_, at_ + kMaxNumber, value).ptr; }
  void boolean(bool value) {
    if (value) {
      lit("true");
    } else {
      lit("false");
    }
  }
  void time(std::int64_t unix_us, TimeUnit unit) { i64(unit == TimeUnit::millisecond ? unix_us / 1000 : unix_us); }

  // `value` × 10^-decimals, printed with `shown` (>= decimals, <= 8) decimals.
  void fixed(std::int64_t value, int decimals, int shown) {
    std::uint64_t magnitude = static_cast<std::uint64_t>(value);
    if (value < 0) {
      ch('-');
      magnitude = 0 - magnitude;
    }
    // Constant divisors: the compiler turns them into multiplications, which
    // matters with 80 numbers in a depth20 payload.
    switch (decimals) {
      case 0: return fixed_with<0>(magnitude, shown);
      case 1: return fixed_with<1>(magnitude, shown);
      case 2: return fixed_with<2>(magnitude, shown);
      case 3: return fixed_with<3>(magnitude, shown);
      case 4: return fixed_with<4>(magnitude, shown);
      case 5: return fixed_with<5>(magnitude, shown);
      case 6: return fixed_with<6>(magnitude, shown);
      case 7: return fixed_with<7>(magnitude, shown);
      default: return fixed_with<8>(magnitude, shown);
    }
  }
  void quoted(std::int64_t value, int decimals, int shown) {
    ch('"');
    fixed(value, decimals, shown);
    ch('"');
  }

 private:
  template <int Decimals>
  void fixed_with(std::uint64_t magnitude, int shown) {
    constexpr auto scale = static_cast<std::uint64_t>(kPow10[Decimals]);
    u64(magnitude / scale);
    if (shown == 0) return;
    ch('.');
    std::uint64_t fraction = magnitude % scale;
    for (int i = Decimals - 1; i >= 0; --i) {
      at_[i] = static_cast<char>('0' + fraction % 10);
      fraction /= 10;
    }
    at_ += Decimals;
    if (shown > Decimals) {
      std::memcpy(at_, "00000000", static_cast<std::size_t>(shown - Decimals));
      at_ += shown - Decimals;
    }
  }

  char* at_;
};

// Resizes `out` to a bound, hands the writer the buffer, trims to what was
// written. resize() within capacity costs a memset, never an allocation.
template <class Body>
void write_into(std::string& out, std::size_t bound, Body&& body) {
  out.resize(bound);
  Writer w(out.data());
  body(w);
  out.resize(static_cast<std::size_t>(w.at() - out.data()));
}

class PayloadWriter {
 public:
  PayloadWriter(Writer& w, const Event& event, RenderFormat format)
      : w_(w), event_(event), format_(format), spot_(format.flavour == Flavour::spot) {}

  void price(const SymbolState& s, std::int64_t ticks) {
    w_.quoted(ticks, s.price_decimals, spot_ ? kSpotDecimals : s.price_decimals);
  }
  void qty(const SymbolState& s, std::int64_t lots) {
    w_.quoted(lots, s.qty_decimals, spot_ ? kSpotDecimals : s.qty_decimals);
  }
  void quote(std::int64_t cents) { w_.quoted(cents, kQuoteDecimals, spot_ ? kSpotDecimals : kQuoteDecimals); }
  void e8(std::int64_t value) { w_.quoted(value, 8, 8); }
  void time(std::int64_t unix_us) { w_.time(unix_us, format_.unit); }
  void symbol(const SymbolState& s) {
    w_.ch('"');
    w_.raw(s.name);
    w_.ch('"');
  }

  void trade() {
    const SymbolState& s = *event_.symbol;
    w_.lit(R"({"e":"trade","E":)");
    time(event_.time_us);
    w_.lit(R"(,"s":)");
    symbol(s);
    w_.lit(R"(,"t":)");
    w_.u64(event_.id);
    w_.lit(R"(,"p":)");
    price(s, event_.price);
    w_.lit(R"(,"q":)");
    qty(s, event_.qty);
    w_.lit(R"(,"T":)");
    time(event_.time_us);
    w_.lit(R"(,"m":)");
    w_.boolean(event_.buyer_maker);
    if (spot_) w_.lit(R"(,"M":true)");  // spot's "ignore" field; futures has none
    w_.ch('}');
  }

  void agg_trade() {
    const SymbolState& s = *event_.symbol;
    w_.lit(R"({"e":"aggTrade","E":)");
    time(event_.time_us);
    w_.lit(R"(,"s":)");
    symbol(s);
    w_.lit(R"(,"a":)");
    w_.u64(event_.id);
    w_.lit(R"(,"p":)");
    price(s, event_.price);
    w_.lit(R"(,"q":)");
    qty(s, event_.qty);
    w_.lit(R"(,"f":)");
    w_.u64(event_.first_id);
    w_.lit(R"(,"l":)");
    w_.u64(event_.last_id);
    w_.lit(R"(,"T":)");
    time(event_.time_us);
    w_.lit(R"(,"m":)");
    w_.boolean(event_.buyer_maker);
    if (spot_) w_.lit(R"(,"M":true)");
    w_.ch('}');
  }

  // Same shape for spot and futures.
  void kline() {
    const SymbolState& s = *event_.symbol;
    const KlineBar& k = event_.kline;
    w_.lit(R"({"e":"kline","E":)");
    time(event_.time_us);
    w_.lit(R"(,"s":)");
    symbol(s);
    w_.lit(R"(,"k":{"t":)");
    time(k.open_time_us);
    w_.lit(R"(,"T":)");
    time(k.close_time_us);
    w_.lit(R"(,"s":)");
    symbol(s);
    w_.lit(R"(,"i":")");
    w_.raw(to_string(k.interval));
    w_.lit(R"(","f":)");
    w_.u64(k.first_id);
    w_.lit(R"(,"L":)");
    w_.u64(k.last_id);
    w_.lit(R"(,"o":)");
    price(s, k.open);
    w_.lit(R"(,"c":)");
    price(s, k.close);
    w_.lit(R"(,"h":)");
    price(s, k.high);
    w_.lit(R"(,"l":)");
    price(s, k.low);
    w_.lit(R"(,"v":)");
    qty(s, k.volume);
    w_.lit(R"(,"n":)");
    w_.u64(k.last_id - k.first_id + 1);
    w_.lit(R"(,"x":)");
    w_.boolean(k.closed);
    w_.lit(R"(,"q":)");
    quote(k.quote_cents);
    w_.lit(R"(,"V":)");
    qty(s, k.taker_volume);
    w_.lit(R"(,"Q":)");
    quote(k.taker_quote_cents);
    w_.lit(R"(,"B":"0"}})");
  }

  // Also the element of !miniTicker@arr. Same shape for spot and futures.
  void mini_ticker(const SymbolState& s) {
    w_.lit(R"({"e":"24hrMiniTicker","E":)");
    time(event_.time_us);
    w_.lit(R"(,"s":)");
    symbol(s);
    w_.lit(R"(,"c":)");
    price(s, s.price);
    w_.lit(R"(,"o":)");
    price(s, s.open);
    w_.lit(R"(,"h":)");
    price(s, s.high);
    w_.lit(R"(,"l":)");
    price(s, s.low);
    w_.lit(R"(,"v":)");
    qty(s, s.volume);
    w_.lit(R"(,"q":)");
    quote(s.quote_cents);
    w_.ch('}');
  }

  void all_mini_tickers() {
    w_.ch('[');
    bool first = true;
    for (const SymbolState& s : event_.symbols) {
      if (!first) w_.ch(',');
      first = false;
      mini_ticker(s);
    }
    w_.ch(']');
  }

  // Spot carries x, b, B, a, A; futures does not.
  void ticker() {
    const SymbolState& s = *event_.symbol;
    w_.lit(R"({"e":"24hrTicker","E":)");
    time(event_.time_us);
    w_.lit(R"(,"s":)");
    symbol(s);
    w_.lit(R"(,"p":)");
    price(s, s.price - s.open);
    w_.lit(R"(,"P":)");
    const double change = static_cast<double>(s.price - s.open) / static_cast<double>(s.open);
    w_.quoted(static_cast<std::int64_t>(change * 100.0 * static_cast<double>(kPow10[kPercentDecimals]) +
                                        (change >= 0 ? 0.5 : -0.5)),
              kPercentDecimals, kPercentDecimals);
    w_.lit(R"(,"w":)");
    price(s, weighted_average(s));
    if (spot_) {
      w_.lit(R"(,"x":)");
      price(s, s.open);
    }
    w_.lit(R"(,"c":)");
    price(s, s.price);
    w_.lit(R"(,"Q":)");
    qty(s, s.last_qty);
    if (spot_) {
      w_.lit(R"(,"b":)");
      price(s, s.bid);
      w_.lit(R"(,"B":)");
      qty(s, s.bid_qty);
      w_.lit(R"(,"a":)");
      price(s, s.ask);
      w_.lit(R"(,"A":)");
      qty(s, s.ask_qty);
    }
    w_.lit(R"(,"o":)");
    price(s, s.open);
    w_.lit(R"(,"h":)");
    price(s, s.high);
    w_.lit(R"(,"l":)");
    price(s, s.low);
    w_.lit(R"(,"v":)");
    qty(s, s.volume);
    w_.lit(R"(,"q":)");
    quote(s.quote_cents);
    w_.lit(R"(,"O":)");
    time(s.window_start_us);
    w_.lit(R"(,"C":)");
    time(event_.time_us);
    w_.lit(R"(,"F":)");
    w_.u64(s.first_trade_id);
    w_.lit(R"(,"L":)");
    w_.u64(s.last_trade_id);
    w_.lit(R"(,"n":)");
    w_.u64(s.last_trade_id + 1 - s.first_trade_id);
    w_.ch('}');
  }

  void book_ticker() {
    const SymbolState& s = *event_.symbol;
    if (spot_) {
      w_.lit(R"({"u":)");
      w_.u64(event_.id);
    } else {
      w_.lit(R"({"e":"bookTicker","u":)");
      w_.u64(event_.id);
      w_.lit(R"(,"E":)");
      time(event_.time_us);
      w_.lit(R"(,"T":)");
      time(event_.time_us);
    }
    w_.lit(R"(,"s":)");
    symbol(s);
    w_.lit(R"(,"b":)");
    price(s, s.bid);
    w_.lit(R"(,"B":)");
    qty(s, s.bid_qty);
    w_.lit(R"(,"a":)");
    price(s, s.ask);
    w_.lit(R"(,"A":)");
    qty(s, s.ask_qty);
    w_.ch('}');
  }

  void levels(const SymbolState& s, std::span<const PriceLevel> side) {
    w_.ch('[');
    bool first = true;
    for (const PriceLevel& level : side) {
      if (!first) w_.ch(',');
      first = false;
      w_.ch('[');
      price(s, level.price);
      w_.ch(',');
      qty(s, level.qty);
      w_.ch(']');
    }
    w_.ch(']');
  }
  void levels(const std::array<PriceLevel, kMaxDepthLevels>& side) {
    levels(*event_.symbol, std::span(side).first(static_cast<std::size_t>(event_.depth_levels)));
  }

  // Spot partial depth is a bare snapshot; futures sends a depthUpdate.
  void depth() {
    if (spot_) {
      w_.lit(R"({"lastUpdateId":)");
      w_.u64(event_.id);
      w_.lit(R"(,"bids":)");
      levels(event_.bids);
      w_.lit(R"(,"asks":)");
      levels(event_.asks);
      w_.ch('}');
      return;
    }
    w_.lit(R"({"e":"depthUpdate","E":)");
    time(event_.time_us);
    w_.lit(R"(,"T":)");
    time(event_.time_us);
    w_.lit(R"(,"s":)");
    symbol(*event_.symbol);
    w_.lit(R"(,"U":)");
    w_.u64(event_.first_id);
    w_.lit(R"(,"u":)");
    w_.u64(event_.id);
    w_.lit(R"(,"pu":)");
    w_.u64(event_.prev_id);
    w_.lit(R"(,"b":)");
    levels(event_.bids);
    w_.lit(R"(,"a":)");
    levels(event_.asks);
    w_.ch('}');
  }

  // Both products send a depthUpdate; futures adds T and pu (in Binance's
  // key order: e, E, T, s, U, u, pu, b, a).
  void diff_depth() {
    const SymbolState& s = *event_.symbol;
    w_.lit(R"({"e":"depthUpdate","E":)");
    time(event_.time_us);
    if (!spot_) {
      w_.lit(R"(,"T":)");
      time(event_.time_us);
    }
    w_.lit(R"(,"s":)");
    symbol(s);
    w_.lit(R"(,"U":)");
    w_.u64(event_.first_id);
    w_.lit(R"(,"u":)");
    w_.u64(event_.id);
    if (!spot_) {
      w_.lit(R"(,"pu":)");
      w_.u64(event_.prev_id);
    }
    w_.lit(R"(,"b":)");
    levels(s, event_.changed_bids);
    w_.lit(R"(,"a":)");
    levels(s, event_.changed_asks);
    w_.ch('}');
  }

  // The REST depth answer: spot {lastUpdateId, bids, asks}; futures adds the
  // message and transaction times (always milliseconds, as REST sends them).
  void snapshot(const SymbolState& s, std::uint64_t last_update_id, std::int64_t now_us,
                std::span<const PriceLevel> bids, std::span<const PriceLevel> asks) {
    w_.lit(R"({"lastUpdateId":)");
    w_.u64(last_update_id);
    if (!spot_) {
      w_.lit(R"(,"E":)");
      time(now_us);
      w_.lit(R"(,"T":)");
      time(now_us);
    }
    w_.lit(R"(,"bids":)");
    levels(s, bids);
    w_.lit(R"(,"asks":)");
    levels(s, asks);
    w_.ch('}');
  }

  // USD-M futures only; rendered the same whatever the flavour.
  void mark_price() {
    const SymbolState& s = *event_.symbol;
    const MarkData& m = event_.mark;
    w_.lit(R"({"e":"markPriceUpdate","E":)");
    time(event_.time_us);
    w_.lit(R"(,"s":)");
    symbol(s);
    w_.lit(R"(,"p":)");
    w_.quoted(m.mark, s.price_decimals, kSpotDecimals);
    w_.lit(R"(,"i":)");
    e8(m.index_e8);
    w_.lit(R"(,"P":)");
    e8(m.settle_e8);
    w_.lit(R"(,"r":)");
    e8(m.funding_rate_e8);
    w_.lit(R"(,"T":)");
    time(m.next_funding_us);
    w_.ch('}');
  }

 private:
  // Volume-weighted average price in ticks: quote volume / base volume.
  static std::int64_t weighted_average(const SymbolState& s) {
    if (s.volume <= 0) return s.price;
    const double ticks_per_cent = static_cast<double>(
        kPow10[static_cast<std::size_t>(s.price_decimals + s.qty_decimals - kQuoteDecimals)]);
    return static_cast<std::int64_t>(
        static_cast<double>(s.quote_cents) * ticks_per_cent / static_cast<double>(s.volume) + 0.5);
  }

  Writer& w_;
  const Event& event_;
  RenderFormat format_;
  bool spot_;
};

std::size_t bound_for(const Event& event) {
  const std::size_t per_symbol = kMaxFixedPart + kMaxFields * kMaxNumber;
  if (event.kind == StreamKind::all_mini_tickers) {
    std::size_t bound = 2;
    for (const auto& s : event.symbols) bound += per_symbol + s.name.size();
    return bound;
  }
  std::size_t bound = per_symbol + 2 * (event.symbol ? event.symbol->name.size() : 0);
  if (event.kind == StreamKind::partial_depth) bound += 2 * kMaxDepthLevels * kMaxLevelBytes;
  if (event.kind == StreamKind::diff_depth) {
    bound += (event.changed_bids.size() + event.changed_asks.size()) * kMaxLevelBytes;
  }
  return bound;
}

bool needs_escape(std::string_view text) {
  for (char c : text) {
    if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return true;
  }
  return false;
}

// Stream names from parse_stream_spec never need escaping; anything else
// still yields valid JSON.
void append_json_string(std::string& out, std::string_view text) {
  out.push_back('"');
  if (!needs_escape(text)) {
    out.append(text);
  } else {
    constexpr char kHex[] = "0123456789abcdef";
    for (char c : text) {
      const auto u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        out.push_back('\\');
        out.push_back(c);
      } else if (u < 0x20) {
        out.append("\\u00");
        out.push_back(kHex[u >> 4]);
        out.push_back(kHex[u & 0xF]);
      } else {
        out.push_back(c);
      }
    }
  }
  out.push_back('"');
}

void append_time(std::string& out, std::int64_t unix_us, TimeUnit unit) {
  std::array<char, kMaxNumber> digits{};
  Writer w(digits.data());
  w.time(unix_us, unit);
  out.append(digits.data(), static_cast<std::size_t>(w.at() - digits.data()));
}

}  // namespace

void render_event(const Event& event, RenderFormat format, std::string& out) {
  write_into(out, bound_for(event), [&](Writer& w) {
    PayloadWriter payload(w, event, format);
    switch (event.kind) {
      case StreamKind::trade: payload.trade(); break;
      case StreamKind::agg_trade: payload.agg_trade(); break;
      case StreamKind::kline: payload.kline(); break;
      case StreamKind::book_ticker: payload.book_ticker(); break;
      case StreamKind::mini_ticker: payload.mini_ticker(*event.symbol); break;
      case StreamKind::ticker: payload.ticker(); break;
      case StreamKind::partial_depth: payload.depth(); break;
      case StreamKind::diff_depth: payload.diff_depth(); break;
      case StreamKind::mark_price: payload.mark_price(); break;
      case StreamKind::all_mini_tickers: payload.all_mini_tickers(); break;
    }
  });
}

void render_depth_snapshot(const SymbolState& symbol, Flavour flavour, std::uint64_t last_update_id,
                           std::int64_t now_us, std::span<const PriceLevel> bids, std::span<const PriceLevel> asks,
                           std::string& out) {
  const Event none;
  const std::size_t bound = kMaxFixedPart + 3 * kMaxNumber + (bids.size() + asks.size()) * kMaxLevelBytes;
  write_into(out, bound, [&](Writer& w) {
    PayloadWriter(w, none, {flavour, TimeUnit::millisecond}).snapshot(symbol, last_update_id, now_us, bids, asks);
  });
}

void render_envelope(std::string_view stream, std::string_view payload, std::string& out) {
  out.clear();
  out.reserve(stream.size() + payload.size() + 24);
  out.append(R"({"stream":)");
  append_json_string(out, stream);
  out.append(R"(,"data":)");
  out.append(payload);
  out.push_back('}');
}

void render_server_shutdown(std::int64_t now_us, TimeUnit unit, std::string& out) {
  out.assign(R"({"e":"serverShutdown","E":)");
  append_time(out, now_us, unit);
  out.push_back('}');
}

void render_malformed(MalformedKind kind, std::string_view stream, std::string_view payload, bool combined,
                      std::int64_t now_us, TimeUnit unit, std::string& out) {
  // Builds the body first, then wraps it, so every kind works for raw and
  // combined connections alike.
  std::string body;
  switch (kind) {
    case MalformedKind::truncated_json: {
      std::string whole;
      if (combined) {
        render_envelope(stream, payload, whole);
      } else {
        whole.assign(payload);
      }
      // Half an object never closes its outermost brace: never valid JSON.
      out.assign(whole, 0, whole.size() / 2);
      return;
    }
    case MalformedKind::not_json:
      // What a misbehaving proxy in the path would send.
      out.assign("<html><body><h1>502 Bad Gateway</h1></body></html>");
      return;
    case MalformedKind::unsubscribed_stream: {
      body.assign(R"({"e":"trade","E":)");
      append_time(body, now_us, unit);
      body.append(R"(,"s":")");
      body.append(kUnsubscribedSymbol);
      body.append(R"(","t":1,"p":"1.00000000","q":"1.00000000","T":)");
      append_time(body, now_us, unit);
      body.append(R"(,"m":true,"M":true})");
      if (!combined) {
        out = std::move(body);
        return;
      }
      render_envelope(kUnsubscribedStream, body, out);
      return;
    }
    case MalformedKind::missing_stream:
      out.assign(R"({"data":)");
      out.append(payload);
      out.push_back('}');
      return;
    case MalformedKind::duplicate_data:
      // Which of the two a parser keeps is its own choice: the relay must
      // not forward either.
      out.assign(R"({"stream":")");
      out.append(stream);
      out.append(R"(","data":)");
      out.append(payload);
      out.append(R"(,"data":)");
      out.append(payload);
      out.push_back('}');
      return;
    case MalformedKind::binary_frame:
      // The event itself; the server sends it with the binary opcode.
      if (combined) {
        render_envelope(stream, payload, out);
      } else {
        out.assign(payload);
      }
      return;
    case MalformedKind::deep_nesting: {
      constexpr std::size_t kDepth = 2000;  // a recursive parser's stack, not a Binance event
      body.assign(kDepth, '[');
      body.append(kDepth, ']');
      if (combined) {
        render_envelope(stream, body, out);
      } else {
        out = std::move(body);
      }
      return;
    }
    case MalformedKind::max_id: out.assign(R"({"result":null,"id":9223372036854775807})"); return;
    case MalformedKind::empty_frame: out.clear(); return;
    case MalformedKind::wrong_types: {
      // Every field a parser might read has the wrong JSON type, including
      // E, from which the relay measures lag.
      body.assign(R"({"e":42,"E":")");
      append_time(body, now_us, unit);
      body.append(R"(","s":null,"t":"1","p":1.5,"q":true,"T":[],"m":"yes"})");
      if (combined) {
        render_envelope(stream, body, out);
      } else {
        out = std::move(body);
      }
      return;
    }
  }
}

}  // namespace tickrelay::sim
