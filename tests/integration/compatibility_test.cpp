// What Binance's stream servers accept, the relay and the simulator accept
// the same way: a path token that names no stream (/ws/0), USD-M's /private
// path, a stream asked on the USD-M path that does not carry it, and each
// connection's own time unit whatever unit the upstream is read in.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>
#include <string>

#include "process_runner.hpp"
#include "programs.hpp"
#include "raw_client.hpp"
#include "ws_test_client.hpp"

namespace tickrelay::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using wire::Opcode;

bool is_event(const std::string& message) {
  return message.find("\"result\"") == std::string::npos && message.find("\"error\"") == std::string::npos;
}

const json::object& event_of(const json::value& v) {
  return v.as_object().contains("data") ? v.at("data").as_object() : v.as_object();
}

// One upstream entry for the simulator, read in `unit`.
std::string sim_entry(const Sim& sim, const std::string& product, const std::string& unit,
                      const std::vector<std::string>& streams) {
  std::string yaml = "upstreams:\n  - name: sim\n    url: " + sim.url() + "\n    product: " + product +
                     "\n    time_unit: " + unit + "\n    streams: [";
  for (std::size_t i = 0; i < streams.size(); ++i) yaml += (i ? ", \"" : "\"") + streams[i] + "\"";
  return yaml + "]\n";
}

// The next `n` events' aggregate ids and E, by id.
std::map<std::int64_t, std::int64_t> agg_times(WsTestClient& client, int n) {
  std::map<std::int64_t, std::int64_t> out;
  for (int i = 0; i < n; ++i) {
    const auto m = client.read_until(is_event);
    if (!m) break;
    const auto v = json::parse(*m);
    const auto& e = event_of(v);
    out[e.at("a").as_int64()] = e.at("E").as_int64();
  }
  return out;
}

// The same events seen by a millisecond client and a microsecond client:
// E differs by the unit and by nothing else.
void expect_units_agree(const std::map<std::int64_t, std::int64_t>& ms,
                        const std::map<std::int64_t, std::int64_t>& us) {
  int compared = 0;
  for (const auto& [id, e_ms] : ms) {
    const auto it = us.find(id);
    if (it == us.end()) continue;
    EXPECT_LT(e_ms, 100'000'000'000'000) << "not milliseconds: " << e_ms;
    EXPECT_GT(it->second, 100'000'000'000'000) << "not microseconds: " << it->second;
    EXPECT_EQ(it->second / 1000, e_ms) << "aggregate trade " << id;
    ++compared;
  }
  EXPECT_GT(compared, 20);
}

class CompatibilityTest : public ::testing::Test {
 protected:
  void start(const std::string& product, const std::string& unit, const std::vector<std::string>& streams) {
    sim_ = start_sim({"--rate", "500", "--symbols", "btcusdt,ethusdt"});
    relay_ = start_relay(dir_, sim_entry(sim_, product, unit, streams));
  }

  TempDir dir_;
  Sim sim_;
  Relay relay_;
};

// ccxt's shape: /ws/<its connection counter>, then SUBSCRIBE.
TEST_F(CompatibilityTest, PathTokenThatNamesNoStreamThenSubscribeReceives) {
  start("spot", "microsecond", {"btcusdt@aggTrade"});
  for (const std::string& base : {relay_.ws_url(""), sim_.url()}) {
    WsTestClient client(base + "/ws/0");
    client.send(R"({"method":"SUBSCRIBE","params":["btcusdt@aggTrade"],"id":1})");
    const auto answer = client.read_until([](const std::string& m) { return !is_event(m); });
    ASSERT_TRUE(answer) << base;
    EXPECT_EQ(*answer, R"({"result":null,"id":1})") << base;
    const auto event = client.read_until(is_event);
    ASSERT_TRUE(event) << base;
    EXPECT_NE(event->find(R"("e":"aggTrade")"), std::string::npos) << *event;
    client.send(R"({"method":"LIST_SUBSCRIPTIONS","id":2})");
    const auto list = client.read_until([](const std::string& m) { return m.find(R"("id":2)") != std::string::npos; });
    ASSERT_TRUE(list) << base;
    EXPECT_EQ(*list, R"({"result":["btcusdt@aggTrade"],"id":2})") << base;
  }
}

// A USD-M client opens /market, /public and /private at once and waits for
// all three; /private carries nothing without a listen key, but stays open.
TEST_F(CompatibilityTest, UsdmPrivatePathOpensAndStaysOpenBesideMarketAndPublic) {
  start("usdm-futures", "millisecond", {"btcusdt@aggTrade", "btcusdt@bookTicker"});
  for (const std::string& base : {relay_.ws_url(""), sim_.url()}) {
    WsTestClient priv(base + "/private/stream?streams=");
    WsTestClient market(base + "/market/stream?streams=btcusdt@aggTrade");
    WsTestClient pub(base + "/public/ws/btcusdt@bookTicker");
    for (int i = 0; i < 50; ++i) {
      ASSERT_TRUE(market.read_until(is_event)) << base;
      ASSERT_TRUE(pub.read_until(is_event)) << base;
    }
    priv.send(R"({"method":"SUBSCRIBE","params":["btcusdt@aggTrade"],"id":7})");
    const auto answer = priv.read();
    ASSERT_TRUE(answer) << base;
    EXPECT_EQ(*answer, R"({"result":null,"id":7})") << base;
    // While the market connection takes 50 more events, /private gets none
    // and is not closed.
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(market.read_until(is_event)) << base;
    priv.send(R"({"method":"LIST_SUBSCRIPTIONS","id":8})");
    const auto list = priv.read();
    ASSERT_TRUE(list) << base;
    EXPECT_EQ(*list, R"({"result":["btcusdt@aggTrade"],"id":8})") << base;
    EXPECT_FALSE(priv.closed()) << base;
  }
}

// A kline asked on /public, a bookTicker on /market: accepted, listed, and
// silent, as Binance does; the right paths deliver.
TEST_F(CompatibilityTest, StreamOnTheWrongUsdmPathIsAcceptedAndCarriesNothing) {
  start("usdm-futures", "millisecond", {"btcusdt@aggTrade", "btcusdt@bookTicker"});
  for (const std::string& base : {relay_.ws_url(""), sim_.url()}) {
    WsTestClient wrong(base + "/public/stream?streams=btcusdt@aggTrade");
    WsTestClient wrong_book(base + "/market/ws/btcusdt@bookTicker");
    WsTestClient right(base + "/market/ws/btcusdt@aggTrade");
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(right.read_until(is_event)) << base;
    for (auto* client : {&wrong, &wrong_book}) {
      client->send(R"({"method":"LIST_SUBSCRIPTIONS","id":1})");
      const auto first = client->read();
      ASSERT_TRUE(first) << base;
      EXPECT_FALSE(is_event(*first)) << base << " delivered " << *first;
      EXPECT_NE(first->find(R"("result":[")"), std::string::npos) << *first;
    }
  }
}

// Upstream in milliseconds: a microsecond client gets microseconds (the
// same events, E times 1000), a millisecond client milliseconds; the raw
// and combined forms and the last-value replay alike.
TEST_F(CompatibilityTest, MicrosecondClientOfAMillisecondUpstreamGetsMicroseconds) {
  start("spot", "millisecond", {"btcusdt@aggTrade", "btcusdt@kline_1m"});
  WsTestClient ms(relay_.ws_url("/ws/btcusdt@aggTrade"));
  WsTestClient us(relay_.ws_url("/stream?streams=btcusdt@aggTrade&timeUnit=microsecond"));
  const auto ms_times = agg_times(ms, 200);
  const auto us_times = agg_times(us, 200);
  expect_units_agree(ms_times, us_times);
  // The kline's latest value, replayed on connect, is in the unit asked.
  WsTestClient replay(relay_.ws_url("/ws/btcusdt@kline_1m?timeUnit=MICROSECOND"));
  const auto kline = replay.read_until(is_event);
  ASSERT_TRUE(kline);
  const auto v = json::parse(*kline);
  EXPECT_GT(v.at("E").as_int64(), 100'000'000'000'000) << *kline;
  EXPECT_GT(v.at("k").at("t").as_int64(), 100'000'000'000'000) << *kline;
}

// The reverse: upstream in microseconds, a client that asks nothing gets
// milliseconds, as it would from Binance.
TEST_F(CompatibilityTest, MillisecondClientOfAMicrosecondUpstreamGetsMilliseconds) {
  start("spot", "microsecond", {"btcusdt@aggTrade"});
  WsTestClient ms(relay_.ws_url("/stream?streams=btcusdt@aggTrade"));
  WsTestClient us(relay_.ws_url("/ws/btcusdt@aggTrade?timeUnit=MICROSECOND"));
  expect_units_agree(agg_times(ms, 200), agg_times(us, 200));
}

// The simulator gives each connection its unit too, so tests against it
// mean the same as against Binance.
TEST_F(CompatibilityTest, SimulatorGivesEachConnectionItsUnit) {
  start("spot", "microsecond", {"btcusdt@aggTrade"});
  WsTestClient ms(sim_.url() + "/ws/btcusdt@aggTrade");
  WsTestClient us(sim_.url() + "/ws/btcusdt@aggTrade?timeUnit=MICROSECOND");
  expect_units_agree(agg_times(ms, 200), agg_times(us, 200));
}

// Binance answers an offer of permessage-deflate with an uncompressed
// connection; so does the relay: no extension in the answer, plain frames.
TEST_F(CompatibilityTest, CompressionOfferIsDeclined) {
  start("spot", "microsecond", {"btcusdt@aggTrade"});
  RawClient client(relay_.client_port);
  ASSERT_EQ(client.upgrade("/ws/btcusdt@aggTrade",
                           "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"),
            101)
      << client.response_head();
  EXPECT_EQ(client.response_head().find("Sec-WebSocket-Extensions"), std::string::npos) << client.response_head();
  const auto frame = client.read_frame();
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->opcode, Opcode::text);
  EXPECT_NE(frame->payload.find(R"("e":"aggTrade")"), std::string::npos) << frame->payload;
}

}  // namespace
}  // namespace tickrelay::test
