#include "depth_rest.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "event_renderer.hpp"
#include "market_model.hpp"
#include "symbol_list.hpp"

namespace tickrelay::sim {
namespace {

namespace json = boost::json;
namespace http = beast::http;

// 2023-11-14 22:13:00 UTC: a minute's start.
constexpr std::int64_t kMinute = 1'699'999'980'000'000;
constexpr std::int64_t kSecond = 1'000'000;
constexpr std::string_view kClient = "192.0.2.1";

json::value parse(const std::string& text) {
  json::error_code ec;
  auto value = json::parse(text, ec);
  EXPECT_FALSE(ec) << ec.message() << " in: " << text;
  return value;
}

std::optional<std::string> header(const fanout::RestAnswer& answer, std::string_view name) {
  for (const auto& [key, value] : answer.headers) {
    if (key == name) return value;
  }
  return std::nullopt;
}

std::vector<std::string> keys(const json::object& object) {
  std::vector<std::string> out;
  for (const auto& member : object) out.emplace_back(member.key());
  return out;
}

// A client's copy of a book, by the decimal strings Binance sends.
struct ClientBook {
  std::uint64_t id = 0;
  std::map<std::string, std::string> bids, asks;

  static void set_levels(std::map<std::string, std::string>& side, const json::array& levels) {
    for (const auto& level : levels) {
      const auto& pair = level.as_array();
      const std::string price(pair[0].as_string());
      const std::string qty(pair[1].as_string());
      if (std::stod(qty) == 0) {
        side.erase(price);
      } else {
        side[price] = qty;
      }
    }
  }
  static ClientBook from_snapshot(const std::string& body) {
    const auto object = parse(body).as_object();
    ClientBook book;
    book.id = object.at("lastUpdateId").to_number<std::uint64_t>();
    set_levels(book.bids, object.at("bids").as_array());
    set_levels(book.asks, object.at("asks").as_array());
    return book;
  }
  void apply(const json::object& event) {
    set_levels(bids, event.at("b").as_array());
    set_levels(asks, event.at("a").as_array());
    id = event.at("u").to_number<std::uint64_t>();
  }
};

class DepthRestTest : public ::testing::Test {
 protected:
  SymbolList symbols_ = SymbolList::from_csv("btcusdt,ethusdt");
  MarketModel model_{symbols_, 3, kMinute, 300};
  std::optional<DepthRest> rest_;
  std::string out_;

  DepthRestTest() { rest_.emplace(model_, symbols_, std::nullopt); }

  fanout::RestAnswer get(const std::string& target, std::int64_t now = kMinute, std::string_view client = kClient) {
    return rest_->answer(target, client, now);
  }
  StreamId open(const std::string& name, Flavour product) {
    return model_.open_stream(*parse_stream_spec(name, symbols_).spec, product);
  }
  json::object event(StreamId stream, std::int64_t now) {
    render_event(model_.advance(stream, now), {model_.product(stream), TimeUnit::millisecond}, out_);
    return parse(out_).as_object();
  }
};

TEST(DepthRestRules, WeightsByLimit) {
  const std::pair<int, int> spot[] = {{1, 5},    {100, 5},   {101, 25},   {500, 25},
                                      {501, 50}, {1000, 50}, {1001, 250}, {5000, 250}};
  for (const auto& [limit, weight] : spot) EXPECT_EQ(depth_weight(RestApi::spot, limit), weight) << limit;
  const std::pair<int, int> futures[] = {{5, 2}, {10, 2}, {20, 2}, {50, 2}, {100, 5}, {500, 10}, {1000, 20}};
  for (const auto& [limit, weight] : futures) {
    EXPECT_EQ(depth_weight(RestApi::usdm, limit), weight) << limit;
    EXPECT_EQ(depth_weight(RestApi::coinm, limit), weight) << limit;
  }
  EXPECT_EQ(default_depth_limit(RestApi::spot), 100);
  EXPECT_EQ(default_depth_limit(RestApi::usdm), 500);
}

TEST(DepthRestRules, LimitsEachApiAccepts) {
  EXPECT_EQ(parse_depth_limit(RestApi::spot, "1"), 1);
  EXPECT_EQ(parse_depth_limit(RestApi::spot, "5000"), 5000);
  EXPECT_EQ(parse_depth_limit(RestApi::spot, "77"), 77);
  for (const char* bad : {"0", "5001", "", "abc", "-5", "+5", "10x", " 10", "1e3", "99999999999999999999"}) {
    EXPECT_FALSE(parse_depth_limit(RestApi::spot, bad)) << bad;
  }
  for (int ok : {5, 10, 20, 50, 100, 500, 1000}) {
    EXPECT_EQ(parse_depth_limit(RestApi::usdm, std::to_string(ok)), ok);
  }
  for (const char* bad : {"1", "7", "200", "5000", "abc", "-5"}) EXPECT_FALSE(parse_depth_limit(RestApi::usdm, bad));
  EXPECT_EQ(depth_api_of("/api/v3/depth"), RestApi::spot);
  EXPECT_EQ(depth_api_of("/fapi/v1/depth"), RestApi::usdm);
  EXPECT_EQ(depth_api_of("/dapi/v1/depth"), RestApi::coinm);
  EXPECT_FALSE(depth_api_of("/api/v3/depth/"));
  EXPECT_TRUE(DepthRest::serves("/sim/rest-stats"));
  EXPECT_FALSE(DepthRest::serves("/api/v3/ticker"));
}

TEST_F(DepthRestTest, SpotSnapshotShapeAndLimits) {
  const auto answer = get("/api/v3/depth?symbol=BTCUSDT&limit=5");
  ASSERT_EQ(answer.status, http::status::ok) << answer.body;
  EXPECT_EQ(header(answer, "X-MBX-USED-WEIGHT-1M"), "5");
  const auto object = parse(answer.body).as_object();
  EXPECT_EQ(keys(object), (std::vector<std::string>{"lastUpdateId", "bids", "asks"}));
  EXPECT_EQ(object.at("lastUpdateId").to_number<std::uint64_t>(), model_.book(Flavour::spot, 0).update_id());
  const auto& bids = object.at("bids").as_array();
  const auto& asks = object.at("asks").as_array();
  ASSERT_EQ(bids.size(), 5u);
  ASSERT_EQ(asks.size(), 5u);
  // Best first, spot's 8 decimals, and the book never crossed.
  EXPECT_EQ(bids[0].as_array()[0].as_string(), "59999.40000000");
  EXPECT_EQ(asks[0].as_array()[0].as_string(), "60000.00000000");
  EXPECT_GT(std::stod(std::string(bids[0].as_array()[0].as_string())),
            std::stod(std::string(bids[1].as_array()[0].as_string())));
  // Default 100; the whole book (300 a side) within 5000.
  EXPECT_EQ(parse(get("/api/v3/depth?symbol=BTCUSDT").body).at("bids").as_array().size(), 100u);
  EXPECT_EQ(parse(get("/api/v3/depth?symbol=ETHUSDT&limit=5000").body).at("asks").as_array().size(), 300u);
}

TEST_F(DepthRestTest, FuturesSnapshotShapeAndBothFuturesPathsShareTheUsdmBook) {
  const auto answer = get("/fapi/v1/depth?symbol=BTCUSDT&limit=10", kMinute + 1234);
  ASSERT_EQ(answer.status, http::status::ok) << answer.body;
  EXPECT_EQ(header(answer, "X-MBX-USED-WEIGHT-1M"), "2");
  const auto object = parse(answer.body).as_object();
  EXPECT_EQ(keys(object), (std::vector<std::string>{"lastUpdateId", "E", "T", "bids", "asks"}));
  EXPECT_EQ(object.at("E").as_int64(), (kMinute + 1234) / 1000);  // milliseconds
  EXPECT_EQ(object.at("T").as_int64(), (kMinute + 1234) / 1000);
  EXPECT_EQ(object.at("bids").as_array().size(), 10u);
  EXPECT_EQ(object.at("bids").as_array()[0].as_array()[0].as_string(), "59999.40");  // the symbol's tick
  const auto coinm = parse(get("/dapi/v1/depth?symbol=BTCUSDT&limit=10").body).as_object();
  EXPECT_EQ(coinm.at("lastUpdateId"), object.at("lastUpdateId"));
  EXPECT_EQ(coinm.at("bids"), object.at("bids"));
  EXPECT_NE(object.at("lastUpdateId").to_number<std::uint64_t>(), model_.book(Flavour::spot, 0).update_id());
  EXPECT_EQ(parse(get("/fapi/v1/depth?symbol=BTCUSDT").body).at("asks").as_array().size(), 300u);  // default 500
}

TEST_F(DepthRestTest, BadQueriesGetBinanceErrors) {
  const std::pair<const char*, const char*> cases[] = {
      {"/api/v3/depth",
       R"({"code":-1102,"msg":"Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."})"},
      {"/api/v3/depth?symbol=&limit=5",
       R"({"code":-1102,"msg":"Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."})"},
      {"/api/v3/depth?limit=5",
       R"({"code":-1102,"msg":"Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."})"},
      {"/api/v3/depth?symbol=SOLUSDT", R"({"code":-1121,"msg":"Invalid symbol."})"},
      {"/api/v3/depth?symbol=btcusdt", R"({"code":-1121,"msg":"Invalid symbol."})"},
      {"/fapi/v1/depth?symbol=BTC", R"({"code":-1121,"msg":"Invalid symbol."})"},
      {"/api/v3/depth?symbol=BTCUSDT&limit=abc",
       R"({"code":-1100,"msg":"Illegal characters found in parameter 'limit'; legal range is '1-5000'."})"},
      {"/api/v3/depth?symbol=BTCUSDT&limit=0",
       R"({"code":-1100,"msg":"Illegal characters found in parameter 'limit'; legal range is '1-5000'."})"},
      {"/api/v3/depth?symbol=BTCUSDT&limit=5001",
       R"({"code":-1100,"msg":"Illegal characters found in parameter 'limit'; legal range is '1-5000'."})"},
      {"/fapi/v1/depth?symbol=BTCUSDT&limit=7",
       R"({"code":-1100,"msg":"Illegal characters found in parameter 'limit'; legal range is '5, 10, 20, 50, 100, 500, 1000'."})"},
      {"/dapi/v1/depth?symbol=BTCUSDT&limit=",
       R"({"code":-1100,"msg":"Illegal characters found in parameter 'limit'; legal range is '5, 10, 20, 50, 100, 500, 1000'."})"},
  };
  for (const auto& [target, body] : cases) {
    const auto answer = get(target);
    EXPECT_EQ(answer.status, http::status::bad_request) << target;
    EXPECT_EQ(answer.body, body) << target;
    EXPECT_TRUE(header(answer, "X-MBX-USED-WEIGHT-1M")) << target;
  }
  // A wrong request still costs its weight, the default limit's for a wrong limit.
  EXPECT_EQ(rest_->used_weight(RestApi::spot, kClient, kMinute), 8u * 5);
  EXPECT_EQ(rest_->used_weight(RestApi::usdm, kClient, kMinute), 10u + 10);
  EXPECT_EQ(rest_->used_weight(RestApi::coinm, kClient, kMinute), 10u);
}

TEST_F(DepthRestTest, WeightCountsPerUtcMinuteThenRefusesWith429) {
  rest_.emplace(model_, symbols_, 30);
  EXPECT_EQ(rest_->weight_limit(RestApi::spot), 30u);
  EXPECT_EQ(rest_->weight_limit(RestApi::usdm), 30u);
  const std::int64_t late = kMinute + 50 * kSecond + 300'000;  // 9.7 s before the next minute
  for (int i = 1; i <= 6; ++i) {
    const auto answer = get("/api/v3/depth?symbol=BTCUSDT", late);
    ASSERT_EQ(answer.status, http::status::ok);
    EXPECT_EQ(header(answer, "X-MBX-USED-WEIGHT-1M"), std::to_string(5 * i));
  }
  const auto refused = get("/api/v3/depth?symbol=BTCUSDT", late);
  EXPECT_EQ(refused.status, http::status::too_many_requests);
  EXPECT_EQ(refused.body,
            R"({"code":-1003,"msg":"Too much request weight used; current limit is 30 request weight per 1 MINUTE."})");
  EXPECT_EQ(header(refused, "Retry-After"), "10");
  EXPECT_EQ(header(refused, "X-MBX-USED-WEIGHT-1M"), "30");  // a refusal costs nothing
  // Another client, and the futures API, count on their own.
  EXPECT_EQ(get("/api/v3/depth?symbol=BTCUSDT", late, "192.0.2.2").status, http::status::ok);
  EXPECT_EQ(get("/fapi/v1/depth?symbol=BTCUSDT", late).status, http::status::ok);
  // A UTC minute, not a sliding one: the count starts over at :00.
  const auto next = get("/api/v3/depth?symbol=BTCUSDT", kMinute + 60 * kSecond);
  EXPECT_EQ(next.status, http::status::ok);
  EXPECT_EQ(header(next, "X-MBX-USED-WEIGHT-1M"), "5");
  // A request heavier than what is left is refused though lighter ones pass.
  EXPECT_EQ(get("/api/v3/depth?symbol=BTCUSDT&limit=1000", kMinute + 61 * kSecond).status,
            http::status::too_many_requests);
  EXPECT_EQ(get("/api/v3/depth?symbol=BTCUSDT&limit=2", kMinute + 61 * kSecond).status, http::status::ok);
  EXPECT_EQ(rest_->stats(RestApi::spot).refused, 2u);
  EXPECT_EQ(rest_->stats().requests, 12u);
}

TEST_F(DepthRestTest, StatsGiveTheBusiestSixtySeconds) {
  rest_.emplace(model_, symbols_, 1'000'000);
  const auto spot1000 = "/api/v3/depth?symbol=BTCUSDT&limit=1000";  // weight 50
  get(spot1000, kMinute);
  get(spot1000, kMinute + 70 * kSecond);                                     // the first has left the window: 50
  get(spot1000, kMinute + 100 * kSecond);                                    // 70 s and 100 s: 100
  get(spot1000, kMinute + 160 * kSecond);                                    // 60 s after 100 s: that one has left, 50
  get("/fapi/v1/depth?symbol=BTCUSDT&limit=1000", kMinute + 161 * kSecond);  // weight 20
  const auto& s = rest_->stats();
  EXPECT_EQ(s.requests, 5u);
  EXPECT_EQ(s.weight, 220u);
  EXPECT_EQ(s.max_weight_60s, 100u);
  EXPECT_EQ(rest_->stats(RestApi::usdm).max_weight_60s, 20u);
  const auto answer = get("/sim/rest-stats", kMinute + 162 * kSecond);
  ASSERT_EQ(answer.status, http::status::ok);
  const auto object = parse(answer.body).as_object();
  EXPECT_EQ(object.at("requests").as_int64(), 5);
  EXPECT_EQ(object.at("weight").as_int64(), 220);
  EXPECT_EQ(object.at("refused").as_int64(), 0);
  EXPECT_EQ(object.at("max_weight_60s").as_int64(), 100);
  EXPECT_EQ(object.at("apis").at("spot").at("weight").as_int64(), 200);
  EXPECT_EQ(rest_->stats().requests, 5u);  // asking for the stats is not a request
}

TEST_F(DepthRestTest, ManyRequestsInAFewMillisecondsKeepTheWindowSmall) {
  rest_.emplace(model_, symbols_, 1'000'000'000);
  for (int i = 0; i < 5000; ++i) get("/fapi/v1/depth?symbol=ETHUSDT&limit=5", kMinute + i / 1000 * 1000);
  EXPECT_EQ(rest_->stats().max_weight_60s, 10'000u);
}

// Binance's spot procedure: buffer the events, fetch the snapshot, drop what
// it already holds, check the first kept event straddles it, then apply.
TEST_F(DepthRestTest, SpotSnapshotPlusLaterEventsReproducesTheBook) {
  const auto slow = open("btcusdt@depth", Flavour::spot);
  const auto fast = open("btcusdt@depth@100ms", Flavour::spot);
  std::vector<json::object> buffered;
  std::int64_t now = kMinute;
  for (int i = 0; i < 20; ++i) {
    buffered.push_back(event(fast, now += 1000));
    event(slow, now += 1000);  // another speed moves the book meanwhile
  }
  auto book = ClientBook::from_snapshot(get("/api/v3/depth?symbol=BTCUSDT&limit=5000", now).body);
  ASSERT_GE(book.id, buffered.front().at("U").to_number<std::uint64_t>());
  for (int i = 0; i < 40; ++i) buffered.push_back(event(fast, now += 1000));
  bool first = true;
  std::size_t applied = 0;
  for (const auto& ev : buffered) {
    const auto u = ev.at("u").to_number<std::uint64_t>();
    const auto big_u = ev.at("U").to_number<std::uint64_t>();
    if (u <= book.id) continue;
    if (first) {
      ASSERT_LE(big_u, book.id + 1);
      first = false;
    } else {
      ASSERT_EQ(big_u, book.id + 1);
    }
    book.apply(ev);
    ++applied;
  }
  EXPECT_EQ(applied, 40u);
  const auto now_book = ClientBook::from_snapshot(get("/api/v3/depth?symbol=BTCUSDT&limit=5000", now).body);
  EXPECT_EQ(book.id, now_book.id);
  EXPECT_EQ(book.bids, now_book.bids);
  EXPECT_EQ(book.asks, now_book.asks);
}

// USD-M's procedure: drop events with u < lastUpdateId; the first applied
// has U <= lastUpdateId <= u; then each pu is the previous u.
TEST_F(DepthRestTest, FuturesSnapshotPlusLaterEventsReproducesTheBook) {
  const auto s250 = open("ethusdt@depth", Flavour::usdm_futures);
  const auto s500 = open("ethusdt@depth@500ms", Flavour::usdm_futures);
  std::vector<json::object> buffered;
  std::int64_t now = kMinute;
  for (int i = 0; i < 10; ++i) {
    buffered.push_back(event(s250, now += 1000));
    event(s500, now += 1000);
  }
  // The snapshot falls inside the next event's range once the 500 ms stream
  // moved the book after the 250 ms stream's last event.
  auto book = ClientBook::from_snapshot(get("/fapi/v1/depth?symbol=ETHUSDT&limit=1000", now).body);
  for (int i = 0; i < 30; ++i) {
    buffered.push_back(event(s250, now += 1000));
    event(s500, now += 1000);
  }
  bool first = true;
  std::uint64_t previous = 0;
  std::size_t applied = 0;
  for (const auto& ev : buffered) {
    const auto u = ev.at("u").to_number<std::uint64_t>();
    if (u < book.id) continue;
    if (first) {
      ASSERT_LE(ev.at("U").to_number<std::uint64_t>(), book.id);
      ASSERT_GE(u, book.id);
      first = false;
    } else {
      ASSERT_EQ(ev.at("pu").to_number<std::uint64_t>(), previous);
    }
    previous = u;
    book.apply(ev);
    ++applied;
  }
  EXPECT_EQ(applied, 30u);
  const auto s500_last = event(s500, now += 1000);  // moves the book: the 250 ms stream's next event must carry it
  const auto next = event(s250, now += 1000);
  ASSERT_EQ(next.at("pu").to_number<std::uint64_t>(), previous);
  book.apply(next);
  const auto now_book = ClientBook::from_snapshot(get("/fapi/v1/depth?symbol=ETHUSDT&limit=1000", now).body);
  EXPECT_EQ(book.id, now_book.id);
  EXPECT_EQ(book.bids, now_book.bids);
  EXPECT_EQ(book.asks, now_book.asks);
  // The 250 ms event spans the 500 ms stream's changes as well as its own.
  EXPECT_LE(next.at("U").to_number<std::uint64_t>(), s500_last.at("U").to_number<std::uint64_t>());
  EXPECT_GT(next.at("u").to_number<std::uint64_t>(), s500_last.at("u").to_number<std::uint64_t>());
}

}  // namespace
}  // namespace tickrelay::sim
