#include "upstream/time_units.hpp"

#include <simdjson.h>

#include <charconv>
#include <cstring>
#include <limits>
#include <vector>

namespace tickrelay::upstream {
namespace od = simdjson::ondemand;

namespace {

// Where in the event a field sits decides whether it is a time.
enum class Level : std::uint8_t { event, kline, order };

bool is_time(Level level, std::string_view key) {
  switch (level) {
    case Level::event: return key == "E" || key == "T" || key == "O" || key == "C";
    case Level::kline: return key == "t" || key == "T";
    case Level::order: return key == "T";
  }
  return false;
}

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

TimeUnit unit_of_epoch(std::int64_t epoch) {
  return epoch > 100'000'000'000'000 ? TimeUnit::microsecond : TimeUnit::millisecond;
}

struct TimeRescaler::Impl {
  od::parser parser;
  std::string padded;
  struct Edit {
    std::size_t offset;  // of the number in the event
    std::size_t size;
    std::int64_t value;  // in the new unit
  };
  std::vector<Edit> edits;
  bool grow = false;  // towards microseconds
  const char* base = nullptr;
  std::size_t size = 0;

  // A time's number, in the new unit; false when it cannot be one.
  bool note(od::value& value) {
    std::string_view token = value.raw_json_token();
    while (!token.empty() && is_ws(token.back())) token.remove_suffix(1);
    std::int64_t n = 0;
    const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), n);
    if (ec == std::errc::result_out_of_range) return false;
    if (ec != std::errc{} || end != token.data() + token.size()) return true;  // not an integer: left as it is
    constexpr std::int64_t kLimit = std::numeric_limits<std::int64_t>::max() / 1000;
    if (grow) {
      if (n > kLimit || n < -kLimit) return false;
      n *= 1000;
    } else {
      n = n >= 0 ? n / 1000 : -((-(n + 1)) / 1000) - 1;  // rounded down
    }
    edits.push_back(Edit{static_cast<std::size_t>(token.data() - base), token.size(), n});
    return true;
  }

  bool walk(od::object object, Level level) {
    for (auto field_result : object) {
      od::field field;
      if (std::move(field_result).get(field)) return false;
      // The key ends at the next quote (an escaped key is none of ours).
      const char* key_start = field.key().raw();
      const auto* key_end = static_cast<const char*>(
          std::memchr(key_start, '"', static_cast<std::size_t>(base + size - key_start)));
      if (key_end == nullptr) return false;
      const std::string_view key(key_start, static_cast<std::size_t>(key_end - key_start));
      od::value value = field.value();
      od::json_type type;
      if (value.type().get(type)) return false;
      if (type == od::json_type::number && is_time(level, key)) {
        if (!note(value)) return false;
      } else if (type == od::json_type::object && level == Level::event && (key == "k" || key == "o")) {
        od::object inner;
        if (value.get_object().get(inner) || !walk(inner, key == "k" ? Level::kline : Level::order)) return false;
      }
    }
    return true;
  }
};

TimeRescaler::TimeRescaler() : impl_(std::make_unique<Impl>()) {}
TimeRescaler::~TimeRescaler() = default;

TimeRescaler::Result TimeRescaler::rescale(std::string_view event, TimeUnit from, TimeUnit to, std::string& out) {
  auto& m = *impl_;
  if (from == to) return Result::unchanged;
  m.padded.assign(event);
  m.padded.resize(event.size() + simdjson::SIMDJSON_PADDING, ' ');
  m.base = m.padded.data();
  m.size = event.size();
  m.grow = to == TimeUnit::microsecond;
  m.edits.clear();
  od::document doc;
  if (m.parser.iterate(m.padded.data(), event.size(), m.padded.size()).get(doc)) return Result::malformed;
  od::json_type type;
  if (doc.type().get(type)) return Result::malformed;
  if (type == od::json_type::object) {
    od::object object;
    if (doc.get_object().get(object) || !m.walk(object, Level::event)) return Result::malformed;
  } else if (type == od::json_type::array) {
    // An array stream (!miniTicker@arr): each element is an event.
    od::array items;
    if (doc.get_array().get(items)) return Result::malformed;
    for (auto item : items) {
      od::object object;
      if (item.get_object().get(object) || !m.walk(object, Level::event)) return Result::malformed;
    }
  } else {
    return Result::malformed;
  }
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) return Result::malformed;
  if (m.edits.empty()) return Result::unchanged;
  out.clear();
  out.reserve(event.size() + 3 * m.edits.size());
  std::size_t at = 0;
  char digits[24];
  for (const auto& e : m.edits) {
    out.append(event.substr(at, e.offset - at));
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, e.value);
    out.append(digits, static_cast<std::size_t>(end - digits));
    at = e.offset + e.size;
  }
  out.append(event.substr(at));
  return Result::rescaled;
}

}  // namespace tickrelay::upstream
