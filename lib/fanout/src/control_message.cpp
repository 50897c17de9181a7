#include "control_message.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>
#include <boost/json/value.hpp>

namespace tickrelay::fanout {
namespace {

namespace json = boost::json;

// Binance reports positions as serde_json does: "at line L column C" after
// reading `offset` characters, C counting those read on line L (1-based lines;
// column 0 before the first). An error at a bad character has read it, so
// callers pass its index + 1; one found after a value passes the value's end.
std::string position(std::string_view text, std::size_t offset) {
  std::size_t line = 1;
  std::size_t column = 0;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 0;
    } else {
      ++column;
    }
  }
  return " at line " + std::to_string(line) + " column " + std::to_string(column);
}

// Where a top-level field's value ends in the raw text, for error positions.
std::size_t end_of_field_value(std::string_view text, std::string_view key) {
  const auto k = text.find("\"" + std::string(key) + "\"");
  if (k == std::string_view::npos) return text.size();
  auto p = text.find(':', k);
  if (p == std::string_view::npos) return text.size();
  ++p;
  while (p < text.size() && (text[p] == ' ' || text[p] == '\t' || text[p] == '\n' || text[p] == '\r')) ++p;
  if (p < text.size() && text[p] == '"') {
    for (++p; p < text.size() && text[p] != '"'; ++p) {
      if (text[p] == '\\') ++p;
    }
    return std::min(p + 1, text.size());
  }
  while (p < text.size() && text[p] != ',' && text[p] != '}') ++p;
  return p;
}

// Longest error message sent, in bytes (the longest fixed text is about 160).
constexpr std::size_t kMaxErrorMessage = 300;

ControlError invalid(std::string msg, std::string id = "null") {
  return ControlError{kInvalidRequest, "Invalid request: " + std::move(msg), std::move(id)};
}

bool valid_string_id(std::string_view s) {
  return !s.empty() && s.size() <= 36 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  });
}

}  // namespace

std::variant<ControlRequest, ControlError> parse_control_message(std::string_view text) {
  json::stream_parser parser;
  json::error_code ec;
  const std::size_t consumed = parser.write_some(text.data(), text.size(), ec);
  // write_some stops after a complete value; finishing with bytes left over
  // would report them as an incomplete second value instead of trailing text.
  if (!ec && consumed == text.size()) parser.finish(ec);
  if (ec) {
    const bool eof = ec == json::error::incomplete || consumed >= text.size();
    return ControlError{kInvalidJson,
                        std::string("Invalid JSON: ") + (eof ? "EOF while parsing a value" : "expected value") +
                            position(text, eof ? text.size() : consumed + 1),
                        "null"};
  }
  if (consumed < text.size() && text.find_first_not_of(" \t\r\n", consumed) != std::string_view::npos) {
    return ControlError{kInvalidJson, "Invalid JSON: trailing characters" + position(text, consumed + 1), "null"};
  }
  const json::value doc = parser.release();
  if (!doc.is_object()) return invalid("expected a JSON object" + position(text, 1));
  const auto& obj = doc.as_object();

  // The id first: every later error echoes it.
  ControlRequest request;
  const auto* id = obj.if_contains("id");
  if (id == nullptr) return invalid("missing field `id`" + position(text, text.size()));
  if (id->is_int64() || id->is_uint64()) {
    if (id->is_uint64() && id->as_uint64() > static_cast<std::uint64_t>(INT64_MAX))
      return invalid("request ID must be an unsigned integer");
    request.id = json::serialize(*id);
  } else if (id->is_null()) {
    request.id = "null";
  } else if (id->is_string() && valid_string_id(id->as_string())) {
    request.id = json::serialize(*id);
  } else {
    return invalid("request ID must be an unsigned integer");
  }

  const auto* method = obj.if_contains("method");
  if (method == nullptr) return invalid("missing field `method`" + position(text, text.size()), request.id);
  static constexpr std::string_view kExpected =
      "expected one of `SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY`";
  if (!method->is_string())
    return invalid("invalid type: expected a method name, " + std::string(kExpected) +
                       position(text, end_of_field_value(text, "method")),
                   request.id);
  const std::string_view name = method->as_string();
  if (name == "SUBSCRIBE")
    request.method = Method::subscribe;
  else if (name == "UNSUBSCRIBE")
    request.method = Method::unsubscribe;
  else if (name == "LIST_SUBSCRIPTIONS")
    request.method = Method::list_subscriptions;
  else if (name == "SET_PROPERTY")
    request.method = Method::set_property;
  else if (name == "GET_PROPERTY")
    request.method = Method::get_property;
  else
    return invalid("unknown variant `" + std::string(name) + "`, " + std::string(kExpected) +
                       position(text, end_of_field_value(text, "method")),
                   request.id);

  const json::array empty;
  const auto* params_value = obj.if_contains("params");
  if (params_value != nullptr && !params_value->is_array() && !params_value->is_null())
    return invalid("invalid type: `params` must be an array", request.id);
  const json::array& params = params_value != nullptr && params_value->is_array() ? params_value->as_array() : empty;

  switch (request.method) {
    case Method::subscribe:
    case Method::unsubscribe:
      if (params_value == nullptr) return invalid("missing field `params`" + position(text, text.size()), request.id);
      for (const auto& p : params) {
        if (!p.is_string()) return invalid("invalid type: stream names must be strings", request.id);
        request.streams.emplace_back(p.as_string());
      }
      break;
    case Method::list_subscriptions:
      if (!params.empty()) return invalid("too many parameters", request.id);
      break;
    case Method::set_property:
    case Method::get_property: {
      const std::size_t arity = request.method == Method::set_property ? 2 : 1;
      if (params.empty() || !params[0].is_string()) return invalid("property name must be a string", request.id);
      if (params.size() > arity) return invalid("too many parameters", request.id);
      if (params[0].as_string() != "combined") return ControlError{kUnknownProperty, "Unknown property", request.id};
      if (request.method == Method::set_property) {
        if (params.size() < 2 || !params[1].is_bool())
          return ControlError{kInvalidValueType, "Invalid value type: expected Boolean", request.id};
        request.value = params[1].as_bool();
      }
      break;
    }
  }
  return request;
}

std::string make_result(std::string_view result_json, std::string_view id) {
  std::string out;
  out.reserve(result_json.size() + id.size() + 20);
  out.append("{\"result\":").append(result_json).append(",\"id\":").append(id).append("}");
  return out;
}

std::string make_error(const ControlError& error) {
  // A message echoes what the client sent (a method or stream name); a long
  // one is cut, so an answer costs the relay little whatever the request
  // (cut on a character boundary: the answer stays valid UTF-8).
  std::string_view msg = error.msg;
  std::string cut;
  if (msg.size() > kMaxErrorMessage) {
    std::size_t end = kMaxErrorMessage;
    while (end > 0 && (static_cast<unsigned char>(msg[end]) & 0xC0) == 0x80) --end;
    cut.assign(msg.substr(0, end)).append("...");
    msg = cut;
  }
  return "{\"error\":{\"code\":" + std::to_string(error.code) +
         ",\"msg\":" + json::serialize(json::value(json::string_view(msg.data(), msg.size()))) + "},\"id\":" + error.id +
         "}";
}

std::string make_string_list(const std::vector<std::string_view>& items) {
  json::array array;
  for (auto item : items) array.emplace_back(json::string_view(item.data(), item.size()));
  return json::serialize(array);
}

}  // namespace tickrelay::fanout
