#include "frame_parser.hpp"

#include <simdjson.h>

#include <cstring>
#include <utility>

namespace tickrelay::relay {
namespace {

namespace od = simdjson::ondemand;

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Whether objects and arrays nest deeper than `limit` anywhere in the message.
// Brackets inside strings are text; an escape skips the character after it.
// The structure itself is checked by the parse that follows.
bool nested_deeper_than(const char* p, std::size_t size, std::size_t limit) {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < size; ++i) {
    const char c = p[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > limit) return true;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return false;
}

ParsedFrame malformed(const char* why) {
  ParsedFrame f;
  f.type = ParsedFrame::Type::malformed;
  f.error = why;
  return f;
}

// Reads the event's top-level integers; everything else is skipped by the
// iterator (still checked for structure).
bool read_event_fields(od::object event, ParsedFrame& out, bool& shutdown) {
  for (auto field_result : event) {
    od::field field;
    if (std::move(field_result).get(field)) return false;
    // Just past the opening quote, inside the message: no NUL ends it, the
    // closing quote does, so read at most up to that quote.
    const char* key = field.key().raw();
    if (key[0] == '"' || key[1] != '"') continue;  // only one-letter keys matter
    const char k = key[0];
    if (k == 'E' || k == 't' || k == 'a' || k == 'u') {
      od::value v = field.value();
      od::number_type nt;
      od::json_type type;
      // The error-code form: comparing the result itself throws on bad JSON.
      if (v.type().get(type)) return false;
      // E must be an integer; t, a, u are ids only when integers (a
      // bookTicker's "a" is its ask price, a string).
      const bool integer = type == od::json_type::number && !v.get_number_type().get(nt) &&
                           nt != od::number_type::floating_point_number;
      if (!integer) {
        if (k == 'E') return false;
        continue;
      }
      std::int64_t n = 0;
      if (v.get_int64().get(n)) return false;
      if (k == 'E')
        out.event_time = n;
      else if (k == 't')
        out.trade_id = n;
      else if (k == 'a')
        out.agg_id = n;
      else
        out.update_id = n;
    } else if (k == 'e') {
      std::string_view type;
      if (field.value().get_string().get(type)) return false;
      shutdown = type == "serverShutdown";
    }
  }
  return true;
}

}  // namespace

std::int64_t event_time_to_us(std::int64_t event_time) {
  return event_time > 100'000'000'000'000LL ? event_time : event_time * 1000;
}

struct FrameParser::Impl {
  od::parser parser;
  std::string padded;  // for messages whose buffer has no room for padding
};

FrameParser::FrameParser() : impl_(std::make_unique<Impl>()) {}
FrameParser::~FrameParser() = default;

ParsedFrame FrameParser::parse(const char* data, std::size_t size, std::size_t capacity) {
  if (capacity < size + simdjson::SIMDJSON_PADDING) {
    impl_->padded.assign(data, size);
    impl_->padded.resize(size + simdjson::SIMDJSON_PADDING, ' ');
    capacity = impl_->padded.size();
    data = impl_->padded.data();
  }
  if (nested_deeper_than(data, size, kMaxDepth)) return malformed("nested too deep");
  od::document doc;
  if (impl_->parser.iterate(data, size, capacity).get(doc)) return malformed("not JSON");
  od::object root;
  if (doc.get_object().get(root)) return malformed("not a JSON object");

  ParsedFrame out;
  bool has_stream = false;
  bool has_data = false;
  bool has_result = false;
  bool shutdown = false;
  const char* data_begin = nullptr;
  const char* data_end = nullptr;
  for (auto field_result : root) {
    od::field field;
    if (std::move(field_result).get(field)) return malformed("broken object");
    const char* key_start = field.key().raw();  // just past the key's opening quote
    if (has_data && data_end == nullptr) {
      // The field after `data` ends it: step back over the quote, blanks and comma.
      const char* p = key_start - 2;
      while (p > data_begin && is_ws(*p)) --p;
      if (*p != ',') return malformed("broken object");
      --p;
      while (p > data_begin && is_ws(*p)) --p;
      data_end = p + 1;
    }
    // The key ends at the next quote (escaped keys never match ours); a NUL
    // inside it must not end the search early, so search by length.
    const auto* key_end = static_cast<const char*>(
        std::memchr(key_start, '"', static_cast<std::size_t>(data + size - key_start)));
    if (key_end == nullptr) return malformed("broken object");
    const std::string_view key(key_start, static_cast<std::size_t>(key_end - key_start));
    if (key == "stream") {
      if (field.value().get_string().get(out.stream)) return malformed("stream is not a string");
      has_stream = true;
    } else if (key == "data") {
      // A second data would start after the first one's end.
      if (has_data) return malformed("data given twice");
      const char* p = key_start + key.size() + 1;
      while (is_ws(*p) || *p == ':') ++p;
      data_begin = p;
      od::value value = field.value();
      od::json_type type;
      if (value.type().get(type)) return malformed("broken data");
      if (type == od::json_type::object) {
        od::object event;
        if (value.get_object().get(event) || !read_event_fields(event, out, shutdown)) return malformed("broken data");
      } else if (type == od::json_type::array) {
        // All-market streams (!miniTicker@arr): E belongs to the elements.
        od::array items;
        if (value.get_array().get(items)) return malformed("broken data");
        for (auto item : items) {
          if (item.error()) return malformed("broken data");
        }
      } else {
        return malformed("data is neither an object nor an array");
      }
      has_data = true;
    } else if (key == "result" || key == "id") {
      has_result = true;
    } else if (key == "e" || key == "E") {
      // A raw (not enveloped) event: only serverShutdown is expected so.
      if (key == "e") {
        std::string_view type;
        if (!field.value().get_string().get(type)) shutdown = shutdown || type == "serverShutdown";
      }
    }
  }
  // Past the root object the iterator must be at the end of the input.
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) return malformed("trailing bytes after the object");

  if (shutdown) {
    out.type = ParsedFrame::Type::server_shutdown;
    return out;
  }
  if (has_stream && has_data) {
    if (data_end == nullptr) {
      // `data` was the last field: it ends before the object's closing brace.
      const char* p = data + size - 1;
      while (p > data_begin && is_ws(*p)) --p;
      if (*p != '}') return malformed("broken object");
      --p;
      while (p > data_begin && is_ws(*p)) --p;
      data_end = p + 1;
    }
    // Each step above stays within the message; this keeps a range that
    // would not from ever reaching Frame's copy.
    if (data_begin == nullptr || data_end < data_begin || data_end > data + size) return malformed("broken data");
    out.type = ParsedFrame::Type::event;
    out.data_offset = static_cast<std::size_t>(data_begin - data);
    out.data_size = static_cast<std::size_t>(data_end - data_begin);
    return out;
  }
  if (has_result && !has_stream) {
    out.type = ParsedFrame::Type::response;
    return out;
  }
  return malformed(has_stream ? "envelope without data" : "message without stream");
}

}  // namespace tickrelay::relay
