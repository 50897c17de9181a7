#pragma once
// Binance's live-subscription protocol, both directions: requests a client
// sends (SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS, SET_PROPERTY,
// GET_PROPERTY) and the exact response and error shapes it expects back.
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tickrelay::fanout {

enum class Method { subscribe, unsubscribe, list_subscriptions, set_property, get_property };

struct ControlRequest {
  Method method;
  std::vector<std::string> streams;  // SUBSCRIBE / UNSUBSCRIBE
  bool value = false;                // SET_PROPERTY combined <value>
  std::string id;                    // the request's id as JSON text: 42, "abc" or null
};

// Binance's error codes.
enum ErrorCode : int {
  kUnknownProperty = 0,
  kInvalidValueType = 1,
  kInvalidRequest = 2,
  kInvalidJson = 3,
};

struct ControlError {
  int code;
  std::string msg;
  std::string id = "null";
};

std::variant<ControlRequest, ControlError> parse_control_message(std::string_view text);

// {"result":<result_json>,"id":<id>}
std::string make_result(std::string_view result_json, std::string_view id);
// {"error":{"code":<code>,"msg":"<msg>"},"id":<id>}
std::string make_error(const ControlError& error);
// ["a","b"] for LIST_SUBSCRIPTIONS.
std::string make_string_list(const std::vector<std::string_view>& items);

}  // namespace tickrelay::fanout
