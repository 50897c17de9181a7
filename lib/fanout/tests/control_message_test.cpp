#include "control_message.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <string>

namespace tickrelay::fanout {
namespace json = boost::json;

namespace {

using Streams = std::vector<std::string>;

ControlRequest request(std::string_view text) {
  auto parsed = parse_control_message(text);
  if (auto* error = std::get_if<ControlError>(&parsed)) {
    ADD_FAILURE() << text << " -> " << make_error(*error);
    return ControlRequest{};
  }
  return std::get<ControlRequest>(parsed);
}

ControlError error(std::string_view text) {
  auto parsed = parse_control_message(text);
  if (!std::holds_alternative<ControlError>(parsed)) {
    ADD_FAILURE() << text << " was accepted";
    return ControlError{-1, "", ""};
  }
  return std::get<ControlError>(parsed);
}

// --- Requests from Binance's documentation -------------------------------

TEST(ControlMessage, Subscribe) {
  const auto r = request(R"({"method":"SUBSCRIBE","params":["btcusdt@aggTrade","btcusdt@depth"],"id":1})");
  EXPECT_EQ(r.method, Method::subscribe);
  EXPECT_EQ(r.streams, (Streams{"btcusdt@aggTrade", "btcusdt@depth"}));
  EXPECT_EQ(r.id, "1");
}

TEST(ControlMessage, SubscribeAsDocumentedWithWhitespace) {
  const auto r = request(
      "{\n    \"method\": \"SUBSCRIBE\",\n    \"params\": [\"btcusdt@aggTrade\", \"btcusdt@depth\"],\n    \"id\": 1\n}\n");
  EXPECT_EQ(r.method, Method::subscribe);
  EXPECT_EQ(r.streams, (Streams{"btcusdt@aggTrade", "btcusdt@depth"}));
  EXPECT_EQ(r.id, "1");
}

TEST(ControlMessage, Unsubscribe) {
  const auto r = request(R"({"method":"UNSUBSCRIBE","params":["btcusdt@depth"],"id":312})");
  EXPECT_EQ(r.method, Method::unsubscribe);
  EXPECT_EQ(r.streams, (Streams{"btcusdt@depth"}));
  EXPECT_EQ(r.id, "312");
}

TEST(ControlMessage, SubscribeWithEmptyOrNullParams) {
  EXPECT_TRUE(request(R"({"method":"SUBSCRIBE","params":[],"id":1})").streams.empty());
  EXPECT_TRUE(request(R"({"method":"SUBSCRIBE","params":null,"id":1})").streams.empty());
}

TEST(ControlMessage, ListSubscriptions) {
  auto r = request(R"({"method":"LIST_SUBSCRIPTIONS","id":3})");
  EXPECT_EQ(r.method, Method::list_subscriptions);
  EXPECT_EQ(r.id, "3");
  r = request(R"({"method":"LIST_SUBSCRIPTIONS","params":[],"id":3})");
  EXPECT_EQ(r.method, Method::list_subscriptions);
}

TEST(ControlMessage, SetProperty) {
  auto r = request(R"({"method":"SET_PROPERTY","params":["combined",true],"id":5})");
  EXPECT_EQ(r.method, Method::set_property);
  EXPECT_TRUE(r.value);
  EXPECT_EQ(r.id, "5");
  r = request(R"({"method":"SET_PROPERTY","params":["combined",false],"id":6})");
  EXPECT_FALSE(r.value);
}

TEST(ControlMessage, GetProperty) {
  const auto r = request(R"({"method":"GET_PROPERTY","params":["combined"],"id":2})");
  EXPECT_EQ(r.method, Method::get_property);
  EXPECT_EQ(r.id, "2");
}

TEST(ControlMessage, FieldOrderDoesNotMatter) {
  const auto r = request(R"({"id":7,"params":["a@trade"],"method":"SUBSCRIBE"})");
  EXPECT_EQ(r.method, Method::subscribe);
  EXPECT_EQ(r.streams, (Streams{"a@trade"}));
  EXPECT_EQ(r.id, "7");
}

// --- ids ----------------------------------------------------------------

TEST(ControlMessage, IntegerIds) {
  EXPECT_EQ(request(R"({"method":"LIST_SUBSCRIPTIONS","id":0})").id, "0");
  EXPECT_EQ(request(R"({"method":"LIST_SUBSCRIPTIONS","id":-5})").id, "-5");
  EXPECT_EQ(request(R"({"method":"LIST_SUBSCRIPTIONS","id":9223372036854775807})").id, "9223372036854775807");
  EXPECT_EQ(request(R"({"method":"LIST_SUBSCRIPTIONS","id":-9223372036854775808})").id, "-9223372036854775808");
}

TEST(ControlMessage, StringIds) {
  EXPECT_EQ(request(R"({"method":"LIST_SUBSCRIPTIONS","id":"abc123"})").id, "\"abc123\"");
  const std::string id36(36, 'Z');
  EXPECT_EQ(request(R"({"method":"LIST_SUBSCRIPTIONS","id":")" + id36 + "\"}").id, "\"" + id36 + "\"");
}

TEST(ControlMessage, NullId) { EXPECT_EQ(request(R"({"method":"LIST_SUBSCRIPTIONS","id":null})").id, "null"); }

TEST(ControlMessage, InvalidIds) {
  const std::string id37(37, 'a');
  for (std::string text : {
           std::string(R"({"method":"LIST_SUBSCRIPTIONS","id":")") + id37 + "\"}",
           std::string(R"({"method":"LIST_SUBSCRIPTIONS","id":""})"),
           std::string(R"({"method":"LIST_SUBSCRIPTIONS","id":"ab-c"})"),
           std::string(R"({"method":"LIST_SUBSCRIPTIONS","id":"a b"})"),
           std::string(R"({"method":"LIST_SUBSCRIPTIONS","id":"\"x"})"),
           std::string(R"({"method":"LIST_SUBSCRIPTIONS","id":1.5})"),
           std::string(R"({"method":"LIST_SUBSCRIPTIONS","id":1e3})"),
           std::string(R"({"method":"LIST_SUBSCRIPTIONS","id":true})"),
           std::string(R"({"method":"LIST_SUBSCRIPTIONS","id":[1]})"),
           std::string(R"({"method":"LIST_SUBSCRIPTIONS","id":{"a":1}})"),
           std::string(R"({"method":"LIST_SUBSCRIPTIONS","id":9223372036854775808})"),
           std::string(R"({"method":"LIST_SUBSCRIPTIONS","id":18446744073709551615})"),
       }) {
    const auto e = error(text);
    EXPECT_EQ(e.code, kInvalidRequest) << text;
    EXPECT_EQ(e.msg, "Invalid request: request ID must be an unsigned integer") << text;
    EXPECT_EQ(e.id, "null") << text;
  }
}

TEST(ControlMessage, InvalidIdTakesPrecedenceOverOtherProblems) {
  const auto e = error(R"({"method":"NOPE","id":1.5})");
  EXPECT_EQ(e.msg, "Invalid request: request ID must be an unsigned integer");
}

TEST(ControlMessage, MissingId) {
  const auto e = error(R"({"method":"LIST_SUBSCRIPTIONS"})");
  EXPECT_EQ(e.code, kInvalidRequest);
  EXPECT_EQ(e.id, "null");
  EXPECT_EQ(e.msg.rfind("Invalid request: ", 0), 0u) << e.msg;
}

// --- request errors -------------------------------------------------------

TEST(ControlMessage, MissingMethod) {
  const std::string text = R"({"params":["btcusdt@aggTrade"],"id":1})";
  const auto e = error(text);
  EXPECT_EQ(e.code, kInvalidRequest);
  // serde reports where it stopped: after the closing brace.
  EXPECT_EQ(e.msg, "Invalid request: missing field `method` at line 1 column " + std::to_string(text.size()));
  EXPECT_EQ(e.id, "1");  // the error echoes the request's id
}

TEST(ControlMessage, UnknownMethod) {
  const std::string text = R"({"method":"SUBSCRIBEX","params":[],"id":"abc"})";
  const auto e = error(text);
  EXPECT_EQ(e.code, kInvalidRequest);
  const auto end_of_value = text.find("\",\"params\"") + 1;  // just past the closing quote
  EXPECT_EQ(e.msg,
            "Invalid request: unknown variant `SUBSCRIBEX`, expected one of `SUBSCRIBE`, `UNSUBSCRIBE`, "
            "`LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY` at line 1 column " +
                std::to_string(end_of_value));
  EXPECT_EQ(e.id, "\"abc\"");
}

TEST(ControlMessage, MethodNamesAreCaseSensitive) {
  EXPECT_NE(error(R"({"method":"subscribe","params":[],"id":1})").msg.find("unknown variant `subscribe`"),
            std::string::npos);
}

TEST(ControlMessage, MethodNotAString) {
  const auto e = error(R"({"method":1,"id":1})");
  EXPECT_EQ(e.code, kInvalidRequest);
  EXPECT_EQ(e.msg.rfind("Invalid request: invalid type", 0), 0u) << e.msg;
  EXPECT_EQ(e.id, "1");
}

TEST(ControlMessage, SubscribeNeedsParams) {
  const auto e = error(R"({"method":"SUBSCRIBE","id":1})");
  EXPECT_EQ(e.code, kInvalidRequest);
  EXPECT_EQ(e.msg.rfind("Invalid request: missing field `params`", 0), 0u) << e.msg;
}

TEST(ControlMessage, ParamsMustBeAnArrayOfStrings) {
  auto e = error(R"({"method":"SUBSCRIBE","params":"btcusdt@trade","id":1})");
  EXPECT_EQ(e.code, kInvalidRequest);
  EXPECT_EQ(e.id, "1");
  e = error(R"({"method":"SUBSCRIBE","params":["btcusdt@trade",1],"id":1})");
  EXPECT_EQ(e.code, kInvalidRequest);
  e = error(R"({"method":"UNSUBSCRIBE","params":[null],"id":1})");
  EXPECT_EQ(e.code, kInvalidRequest);
}

TEST(ControlMessage, TooManyParameters) {
  for (auto text : {R"({"method":"LIST_SUBSCRIPTIONS","params":["x"],"id":3})",
                    R"({"method":"GET_PROPERTY","params":["combined","x"],"id":3})",
                    R"({"method":"SET_PROPERTY","params":["combined",true,1],"id":3})"}) {
    const auto e = error(text);
    EXPECT_EQ(e.code, kInvalidRequest) << text;
    EXPECT_EQ(e.msg, "Invalid request: too many parameters") << text;
    EXPECT_EQ(e.id, "3") << text;
  }
}

TEST(ControlMessage, PropertyNameMustBeAString) {
  for (auto text :
       {R"({"method":"SET_PROPERTY","params":[1,true],"id":4})", R"({"method":"GET_PROPERTY","params":[],"id":4})",
        R"({"method":"GET_PROPERTY","id":4})", R"({"method":"SET_PROPERTY","params":[null],"id":4})"}) {
    const auto e = error(text);
    EXPECT_EQ(e.code, kInvalidRequest) << text;
    EXPECT_EQ(e.msg, "Invalid request: property name must be a string") << text;
    EXPECT_EQ(e.id, "4") << text;
  }
}

TEST(ControlMessage, UnknownProperty) {
  for (auto text : {R"({"method":"SET_PROPERTY","params":["combine",true],"id":8})",
                    R"({"method":"GET_PROPERTY","params":["Combined"],"id":8})"}) {
    const auto e = error(text);
    EXPECT_EQ(e.code, kUnknownProperty) << text;
    EXPECT_EQ(e.msg, "Unknown property") << text;
    EXPECT_EQ(e.id, "8") << text;
  }
}

TEST(ControlMessage, PropertyValueMustBeBoolean) {
  for (auto text : {R"({"method":"SET_PROPERTY","params":["combined","true"],"id":9})",
                    R"({"method":"SET_PROPERTY","params":["combined",1],"id":9})",
                    R"({"method":"SET_PROPERTY","params":["combined",null],"id":9})",
                    R"({"method":"SET_PROPERTY","params":["combined"],"id":9})"}) {
    const auto e = error(text);
    EXPECT_EQ(e.code, kInvalidValueType) << text;
    EXPECT_EQ(e.msg, "Invalid value type: expected Boolean") << text;
    EXPECT_EQ(e.id, "9") << text;
  }
}

TEST(ControlMessage, NotAnObject) {
  for (auto text : {"[1,2]", "42", "\"SUBSCRIBE\"", "null"}) {
    const auto e = error(text);
    EXPECT_EQ(e.code, kInvalidRequest) << text;
    EXPECT_EQ(e.id, "null") << text;
  }
}

// --- invalid JSON: code 3 with serde's line and column --------------------

TEST(ControlMessage, InvalidJsonAtTheOffendingCharacter) {
  auto e = error("x");
  EXPECT_EQ(e.code, kInvalidJson);
  EXPECT_EQ(e.msg, "Invalid JSON: expected value at line 1 column 1");
  EXPECT_EQ(e.id, "null");

  e = error(R"({"method":x})");
  EXPECT_EQ(e.code, kInvalidJson);
  EXPECT_EQ(e.msg, "Invalid JSON: expected value at line 1 column 11");
}

TEST(ControlMessage, InvalidJsonOnALaterLine) {
  const auto e = error("{\n  \"method\": \"SUBSCRIBE\",\n  \"id\": ?\n}");
  EXPECT_EQ(e.code, kInvalidJson);
  EXPECT_EQ(e.msg, "Invalid JSON: expected value at line 3 column 9");
}

TEST(ControlMessage, InvalidJsonEndOfInput) {
  auto e = error("");
  EXPECT_EQ(e.code, kInvalidJson);
  EXPECT_EQ(e.msg, "Invalid JSON: EOF while parsing a value at line 1 column 0");
  e = error(R"({"method":"SUBSCRIBE","id":)");
  EXPECT_EQ(e.code, kInvalidJson);
  EXPECT_EQ(e.msg, "Invalid JSON: EOF while parsing a value at line 1 column 27");
  e = error("{\n\"id\":");
  EXPECT_EQ(e.code, kInvalidJson);
  EXPECT_EQ(e.msg, "Invalid JSON: EOF while parsing a value at line 2 column 5");
}

TEST(ControlMessage, TrailingCharacters) {
  const auto e = error(R"({"method":"LIST_SUBSCRIPTIONS","id":1} x)");
  EXPECT_EQ(e.code, kInvalidJson);
  EXPECT_EQ(e.msg, "Invalid JSON: trailing characters at line 1 column 40");
  EXPECT_EQ(e.id, "null");
}

TEST(ControlMessage, SecondValueIsTrailingCharacters) {
  auto e = error(R"({"id":1}{"id":2})");
  EXPECT_EQ(e.code, kInvalidJson);
  EXPECT_EQ(e.msg, "Invalid JSON: trailing characters at line 1 column 9");
  e = error("1 2");
  EXPECT_EQ(e.code, kInvalidJson);
  EXPECT_EQ(e.msg, "Invalid JSON: trailing characters at line 1 column 3");
}

TEST(ControlMessage, TrailingWhitespaceIsFine) {
  EXPECT_EQ(request("{\"method\":\"LIST_SUBSCRIPTIONS\",\"id\":1} \r\n\t").method, Method::list_subscriptions);
}

// --- responses ------------------------------------------------------------

TEST(ControlMessage, MakeResult) {
  EXPECT_EQ(make_result("null", "1"), R"({"result":null,"id":1})");
  EXPECT_EQ(make_result("true", "2"), R"({"result":true,"id":2})");
  EXPECT_EQ(make_result(R"(["btcusdt@aggTrade"])", "3"), R"({"result":["btcusdt@aggTrade"],"id":3})");
  EXPECT_EQ(make_result("null", "\"abc\""), R"({"result":null,"id":"abc"})");
  EXPECT_EQ(make_result("null", "null"), R"({"result":null,"id":null})");
}

TEST(ControlMessage, MakeError) {
  EXPECT_EQ(make_error(ControlError{kInvalidRequest, "Invalid request: too many parameters", "5"}),
            R"({"error":{"code":2,"msg":"Invalid request: too many parameters"},"id":5})");
  EXPECT_EQ(make_error(ControlError{kUnknownProperty, "Unknown property", "\"x1\""}),
            R"({"error":{"code":0,"msg":"Unknown property"},"id":"x1"})");
  EXPECT_EQ(make_error(ControlError{kInvalidJson, "Invalid JSON: expected value at line 1 column 1"}),
            R"({"error":{"code":3,"msg":"Invalid JSON: expected value at line 1 column 1"},"id":null})");
  // Message text is escaped as a JSON string.
  EXPECT_EQ(make_error(ControlError{kInvalidRequest, "unknown variant `a\"b\\c`", "1"}),
            R"({"error":{"code":2,"msg":"unknown variant `a\"b\\c`"},"id":1})");
}

// A long echo is cut on a character boundary: the answer stays small and
// valid UTF-8 whatever the client sent.
TEST(ControlMessage, LongErrorMessagesAreCutOnACharacterBoundary) {
  const auto e = error(R"({"method":")" + std::string(60000, 'A') + R"(","id":1})");
  const auto answer = make_error(e);
  EXPECT_LT(answer.size(), 400u);
  EXPECT_NE(answer.find(R"("msg":"Invalid request: unknown variant `AAAA)"), std::string::npos) << answer;
  EXPECT_NE(answer.find(R"(..."},"id":1})"), std::string::npos) << answer;
  // Two-byte characters across the cut: none is split.
  std::string accents;
  for (int i = 0; i < 400; ++i) accents += "\xc3\xa9";
  const auto cut = make_error(ControlError{kInvalidRequest, accents, "2"});
  const auto msg = json::parse(cut).at("error").at("msg").as_string();
  EXPECT_EQ(msg.size() % 2, 1u);  // whole characters, then "..." (3 bytes)
  EXPECT_TRUE(msg.ends_with("\xc3\xa9..."));
}

TEST(ControlMessage, ParsedErrorsRoundTripThroughMakeError) {
  const auto e = error(R"({"method":"SET_PROPERTY","params":["combined","yes"],"id":"req42"})");
  EXPECT_EQ(make_error(e), R"({"error":{"code":1,"msg":"Invalid value type: expected Boolean"},"id":"req42"})");
}

TEST(ControlMessage, MakeStringList) {
  EXPECT_EQ(make_string_list({}), "[]");
  EXPECT_EQ(make_string_list({"btcusdt@aggTrade"}), R"(["btcusdt@aggTrade"])");
  EXPECT_EQ(make_string_list({"a@trade", "!miniTicker@arr"}), R"(["a@trade","!miniTicker@arr"])");
  EXPECT_EQ(make_string_list({"q\"s"}), R"(["q\"s"])");
}

}  // namespace
}  // namespace tickrelay::fanout
