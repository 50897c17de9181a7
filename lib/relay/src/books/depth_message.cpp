#include "books/depth_message.hpp"

#include <simdjson.h>

#include <limits>

namespace tickrelay::books {
namespace {

namespace od = simdjson::ondemand;

constexpr std::int64_t kMaxWhole = 90'000'000'000;  // 9e10: keys stay below 9e18
constexpr int kDecimals = 8;

// [["price","qty"], ...] into `out`.
const char* read_levels(od::value value, std::vector<PriceLevel>& out) {
  od::array levels;
  if (value.get_array().get(levels)) return "levels are not an array";
  for (auto level_result : levels) {
    od::array pair;
    if (level_result.get_array().get(pair)) return "a level is not an array";
    if (out.size() >= DepthParser::kMaxLevels) return "too many levels";
    PriceLevel level;
    std::size_t n = 0;
    for (auto item : pair) {
      std::string_view text;
      if (item.get_string().get(text)) return "a level's price or quantity is not a string";
      if (n == 0) level.price = text;
      if (n == 1) level.quantity = text;
      ++n;
    }
    if (n < 2) return "a level needs a price and a quantity";
    if (!price_key(level.price, level.key) || !is_decimal(level.quantity)) return "a level is not a decimal";
    out.push_back(std::move(level));
  }
  return nullptr;
}

const char* read_int(od::value value, std::int64_t& out) {
  if (value.get_int64().get(out)) return "an id or time is not an integer";
  return nullptr;
}

}  // namespace

bool PriceLevel::removes() const { return quantity.find_first_not_of("0.") == std::string::npos; }

bool is_decimal(std::string_view text) {
  const auto point = text.find('.');
  if (text.empty() || text == ".") return false;
  if (point != std::string_view::npos && text.find('.', point + 1) != std::string_view::npos) return false;
  return text.find_first_not_of("0123456789.") == std::string_view::npos;
}

bool price_key(std::string_view text, std::int64_t& key) {
  std::int64_t whole = 0;
  std::int64_t fraction = 0;
  int decimals = 0;
  bool point = false;
  bool digits = false;
  for (const char c : text) {
    if (c == '.') {
      if (point) return false;
      point = true;
      continue;
    }
    if (c < '0' || c > '9') return false;
    digits = true;
    if (!point) {
      whole = whole * 10 + (c - '0');
      if (whole > kMaxWhole) return false;
    } else {
      if (++decimals > kDecimals) {
        if (c != '0') return false;  // finer than Binance quotes
        continue;
      }
      fraction = fraction * 10 + (c - '0');
    }
  }
  if (!digits) return false;
  for (int i = decimals; i < kDecimals; ++i) fraction *= 10;
  key = whole * 100'000'000 + fraction;
  return true;
}

struct DepthParser::Impl {
  od::parser parser;
  std::string buffer;

  // A padded copy: the message's own buffer may end at its last byte.
  simdjson::padded_string_view pad(std::string_view text) {
    buffer.assign(text);
    buffer.resize(text.size() + simdjson::SIMDJSON_PADDING);
    return simdjson::padded_string_view(buffer.data(), text.size(), buffer.size());
  }
};

DepthParser::DepthParser() : impl_(std::make_unique<Impl>()) {}
DepthParser::~DepthParser() = default;

const char* DepthParser::parse_update(std::string_view message, DepthUpdate& out) {
  out = DepthUpdate{};
  od::document doc;
  if (impl_->parser.iterate(impl_->pad(message)).get(doc)) return "not JSON";
  od::object top;
  if (doc.get_object().get(top)) return "not an object";
  // The combined form wraps the event in "data".
  od::object event;
  od::value data;
  const auto found = top.find_field_unordered("data").get(data);
  if (found == simdjson::SUCCESS) {
    if (data.get_object().get(event)) return "data is not an object";
  } else if (found == simdjson::NO_SUCH_FIELD) {
    top.reset();
    event = top;
  } else {
    return "not JSON";
  }
  bool has_first = false;
  bool has_final = false;
  for (auto field_result : event) {
    od::field field;
    if (std::move(field_result).get(field)) return "not JSON";
    std::string_view key;
    if (field.unescaped_key().get(key)) return "not JSON";
    const char* error = nullptr;
    if (key == "E") {
      error = read_int(field.value(), out.event_time);
    } else if (key == "T") {
      error = read_int(field.value(), out.transaction_time);
    } else if (key == "U") {
      error = read_int(field.value(), out.first_id);
      has_first = true;
    } else if (key == "u") {
      error = read_int(field.value(), out.final_id);
      has_final = true;
    } else if (key == "pu") {
      error = read_int(field.value(), out.previous_final_id);
    } else if (key == "b") {
      error = read_levels(field.value(), out.bids);
    } else if (key == "a") {
      error = read_levels(field.value(), out.asks);
    }
    if (error) return error;
  }
  if (!has_first || !has_final) return "no U or u";
  if (out.first_id > out.final_id || out.first_id < 0) return "U is past u";
  return nullptr;
}

const char* DepthParser::parse_snapshot(std::string_view body, DepthSnapshot& out) {
  out = DepthSnapshot{};
  od::document doc;
  if (impl_->parser.iterate(impl_->pad(body)).get(doc)) return "not JSON";
  od::object top;
  if (doc.get_object().get(top)) return "not an object";
  bool has_id = false;
  for (auto field_result : top) {
    od::field field;
    if (std::move(field_result).get(field)) return "not JSON";
    std::string_view key;
    if (field.unescaped_key().get(key)) return "not JSON";
    const char* error = nullptr;
    if (key == "lastUpdateId") {
      error = read_int(field.value(), out.last_update_id);
      has_id = true;
    } else if (key == "E") {
      error = read_int(field.value(), out.event_time);
    } else if (key == "T") {
      error = read_int(field.value(), out.transaction_time);
    } else if (key == "bids") {
      error = read_levels(field.value(), out.bids);
    } else if (key == "asks") {
      error = read_levels(field.value(), out.asks);
    }
    if (error) return error;
  }
  if (!has_id || out.last_update_id < 0) return "no lastUpdateId";
  return nullptr;
}

}  // namespace tickrelay::books
