#include "message_processor.hpp"

#include <simdjson.h>

#include <charconv>
#include <cstring>

namespace tickrelay::client {
namespace od = simdjson::ondemand;

static_assert(MessageProcessor::kPadding >= simdjson::SIMDJSON_PADDING);

namespace {

// Raw tokens of the fields we use, gathered in one pass and interpreted once
// the event type is known: "a" is an id in aggTrade but the ask price in
// bookTicker, and fields may come in any order.
struct RawFields {
  std::string_view e, s, p, P, c, o, b, a, t;
  std::string_view k_o, k_c, k_i, k_s, k_L;
  std::uint64_t E = 0;
  bool has_E = false;
};

bool parse_decimal(std::string_view token, double& out) {
  if (token.empty()) return false;
  const char* first = token.data();
  const char* last = first + token.size();
  if (*first == '"') ++first;
  const auto [end, ec] = std::from_chars(first, last, out);
  return ec == std::errc() && end != first;
}

bool parse_integer(std::string_view token, std::uint64_t& out) {
  if (token.empty()) return false;
  const char* first = token.data();
  const auto [end, ec] = std::from_chars(first, first + token.size(), out);
  return ec == std::errc() && end != first;
}

// A one-character key such as "E"; keys are compared raw, without unescaping.
inline char short_key(od::field& field) {
  const char* raw = field.key().raw();
  return raw[0] != '\\' && raw[0] != '"' && raw[1] == '"' ? raw[0] : '\0';
}

bool read_kline(od::value& value, RawFields& f) {
  od::object kline;
  if (value.get_object().get(kline)) return false;
  for (auto item : kline) {
    od::field field;
    if (std::move(item).get(field)) return false;
    switch (short_key(field)) {
      case 'o': f.k_o = field.value().raw_json_token(); break;
      case 'c': f.k_c = field.value().raw_json_token(); break;
      case 'L': f.k_L = field.value().raw_json_token(); break;
      case 'i':
        if (field.value().get_string().get(f.k_i)) return false;
        break;
      case 's':
        if (field.value().get_string().get(f.k_s)) return false;
        break;
      default: break;  // skipped by the iterator
    }
  }
  return true;
}

EventKind kind_of(std::string_view e, const RawFields& f) {
  if (e == "kline") return EventKind::kline;
  if (e == "trade") return EventKind::trade;
  if (e == "aggTrade") return EventKind::agg_trade;
  if (e == "24hrMiniTicker") return EventKind::mini_ticker;
  // 24hrTicker and the rolling-window 1hTicker/4hTicker/1dTicker all carry P.
  if (e.ends_with("Ticker") && e != "bookTicker") return EventKind::ticker;
  if (e == "bookTicker" || (e.empty() && !f.b.empty() && !f.a.empty())) return EventKind::book_ticker;
  return EventKind::other;
}

double change_pct(double open, double close) { return open > 0 ? (close - open) / open * 100.0 : 0.0; }

MarketEvent interpret(const RawFields& f, bool kline_sequences) {
  MarketEvent ev;
  ev.kind = kind_of(f.e, f);
  ev.symbol = f.s.empty() ? f.k_s : f.s;
  ev.event_time = f.E;
  ev.has_event_time = f.has_E;
  double open = 0;
  double other = 0;
  switch (ev.kind) {
    case EventKind::kline:
      ev.interval = f.k_i;
      ev.has_price = parse_decimal(f.k_c, ev.price);
      if (ev.has_price && parse_decimal(f.k_o, open)) {
        ev.change_pct = change_pct(open, ev.price);
        ev.has_change = true;
      }
      ev.has_sequence = kline_sequences && parse_integer(f.k_L, ev.sequence);
      break;
    case EventKind::ticker:
      ev.has_price = parse_decimal(f.c, ev.price);
      ev.has_change = parse_decimal(f.P, ev.change_pct);
      break;
    case EventKind::mini_ticker:
      ev.has_price = parse_decimal(f.c, ev.price);
      if (ev.has_price && parse_decimal(f.o, open)) {
        ev.change_pct = change_pct(open, ev.price);
        ev.has_change = true;
      }
      break;
    case EventKind::trade:
      ev.has_price = parse_decimal(f.p, ev.price);
      ev.has_sequence = parse_integer(f.t, ev.sequence);
      break;
    case EventKind::agg_trade:
      ev.has_price = parse_decimal(f.p, ev.price);
      ev.has_sequence = parse_integer(f.a, ev.sequence);
      break;
    case EventKind::book_ticker:
      if (parse_decimal(f.b, open) && parse_decimal(f.a, other)) {
        ev.price = (open + other) / 2;
        ev.has_price = true;
      }
      break;
    case EventKind::other: break;
  }
  return ev;
}

}  // namespace

struct MessageProcessor::Parser {
  od::parser parser;

  // Walks one object. At the top level it may be an envelope or a control
  // response instead of an event. Returns false on malformed input.
  bool read_object(od::object& object, bool top_level, MessageProcessor& out, bool& control, bool& had_data) {
    RawFields f;
    for (auto item : object) {
      od::field field;
      if (std::move(item).get(field)) return false;
      od::value& value = field.value();
      const char key = short_key(field);
      switch (key) {
        case 'e':
          if (value.get_string().get(f.e)) return false;
          continue;
        case 'E':
          if (value.get_uint64().get(f.E)) return false;
          f.has_E = true;
          continue;
        case 's':
          if (value.get_string().get(f.s)) return false;
          continue;
        case 'k':
          if (!read_kline(value, f)) return false;
          continue;
        case 'p': f.p = value.raw_json_token(); continue;
        case 'P': f.P = value.raw_json_token(); continue;
        case 'c': f.c = value.raw_json_token(); continue;
        case 'o': f.o = value.raw_json_token(); continue;
        case 'b': f.b = value.raw_json_token(); continue;
        case 'a': f.a = value.raw_json_token(); continue;
        case 't': f.t = value.raw_json_token(); continue;
        default: break;
      }
      if (!top_level || key != '\0') continue;
      const od::raw_json_string name = field.key();
      if (name == "stream") {
        if (value.get_string().get(out.stream_)) return false;
      } else if (name == "data") {
        had_data = true;
        if (!read_value(value, out, control)) return false;
      } else if (name == "result" || name == "error") {
        control = true;
      }
    }
    if (!had_data && !control) {
      out.events_.push_back(interpret(f, out.kline_sequences_));
    }
    return true;
  }

  bool read_array(od::array& array, MessageProcessor& out) {
    for (auto item : array) {
      od::object object;
      if (item.get_object().get(object)) return false;
      bool control = false;
      bool had_data = false;
      if (!read_object(object, false, out, control, had_data)) return false;
    }
    return true;
  }

  // The envelope's "data": one event or an array of them.
  bool read_value(od::value& value, MessageProcessor& out, bool& control) {
    od::json_type type;
    if (value.type().get(type)) return false;
    if (type == od::json_type::array) {
      od::array array;
      return !value.get_array().get(array) && read_array(array, out);
    }
    od::object object;
    if (type != od::json_type::object || value.get_object().get(object)) return false;
    bool had_data = false;
    return read_object(object, false, out, control, had_data);
  }
};

MessageProcessor::MessageProcessor(bool kline_sequences)
    : parser_(std::make_unique<Parser>()), kline_sequences_(kline_sequences) {
  // Room for a few hundred events (!miniTicker@arr) without growing later.
  events_.reserve(512);
}

MessageProcessor::~MessageProcessor() = default;

MessageClass MessageProcessor::process(const char* data, std::size_t size, std::size_t capacity) {
  events_.clear();
  stream_ = {};
  od::document doc;
  if (parser_->parser.iterate(data, size, capacity).get(doc)) {
    return MessageClass::malformed;
  }
  od::json_type type;
  if (doc.type().get(type)) {
    return MessageClass::malformed;
  }
  bool ok = false;
  bool control = false;
  if (type == od::json_type::array) {
    od::array array;
    ok = !doc.get_array().get(array) && parser_->read_array(array, *this);
  } else if (type == od::json_type::object) {
    od::object object;
    bool had_data = false;
    ok = !doc.get_object().get(object) && parser_->read_object(object, true, *this, control, had_data);
  }
  if (!ok) {
    events_.clear();
    return MessageClass::malformed;
  }
  if (control && events_.empty()) {
    return MessageClass::control;
  }
  return MessageClass::market;
}

MessageClass MessageProcessor::process_copy(std::string_view message) {
  if (padded_.size() < message.size() + kPadding) {
    padded_.resize(message.size() + kPadding);
  }
  std::memcpy(padded_.data(), message.data(), message.size());
  return process(padded_.data(), message.size(), padded_.size());
}

}  // namespace tickrelay::client
