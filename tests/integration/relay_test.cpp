// tickrelayd end to end: the real simulator upstream, the real relay, test
// clients over loopback sockets.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>
#include <set>

#include "process_runner.hpp"
#include "programs.hpp"
#include "sim_relay_test.hpp"
#include "ws_test_client.hpp"

namespace tickrelay::test {
namespace {

namespace json = boost::json;

std::int64_t field_int(const std::string& message, const char* key) {
  const auto v = json::parse(message);
  const auto& obj = v.as_object().contains("data") ? v.at("data").as_object() : v.as_object();
  return obj.at(key).as_int64();
}

std::string stream_of(const std::string& message) {
  const auto v = json::parse(message);
  return std::string(v.at("stream").as_string());
}

bool is_event(const std::string& message) {
  return message.find("\"result\"") == std::string::npos && message.find("\"error\"") == std::string::npos;
}

class RelayTest : public SimRelayTest {
 protected:
  void start(const std::vector<std::string>& streams, std::vector<std::string> sim_args = {"--rate", "2000"},
             const std::string& server_extra = "") {
    start_sim_and_relay("btcusdt,ethusdt,bnbusdt", std::move(sim_args), streams, server_extra);
  }
};

TEST_F(RelayTest, FiftyClientsEachReceiveEveryEventInOrder) {
  start({"btcusdt@aggTrade", "ethusdt@aggTrade"});
  std::vector<std::unique_ptr<WsTestClient>> clients;
  for (int i = 0; i < 50; ++i) clients.push_back(std::make_unique<WsTestClient>(relay_.ws_url("/ws/btcusdt@aggTrade")));
  // Each client starts at its own point; from the latest first id on, every
  // client must see every id: same events, same count, no gap.
  std::vector<std::int64_t> last(clients.size());
  std::int64_t common_start = 0;
  for (std::size_t i = 0; i < clients.size(); ++i) {
    const auto first = clients[i]->read();
    ASSERT_TRUE(first) << "client " << i << " got nothing";
    last[i] = field_int(*first, "a");
    common_start = std::max(common_start, last[i]);
  }
  const std::int64_t common_end = common_start + 300;
  for (std::size_t i = 0; i < clients.size(); ++i) {
    std::int64_t seen_in_range = last[i] >= common_start ? 1 : 0;
    while (last[i] < common_end) {
      const auto message = clients[i]->read();
      ASSERT_TRUE(message) << "client " << i << " stalled at a=" << last[i];
      const auto id = field_int(*message, "a");
      ASSERT_EQ(id, last[i] + 1) << "client " << i << " gap or duplicate";
      EXPECT_EQ(json::parse(*message).at("s").as_string(), "BTCUSDT");
      last[i] = id;
      if (id >= common_start) ++seen_in_range;
    }
    EXPECT_EQ(seen_in_range, common_end - common_start + 1) << "client " << i;
  }
  EXPECT_EQ(relay_.metric("tickrelay_clients_connected"), 50);
}

TEST_F(RelayTest, RawClientsGetTheSimulatorsDataBytesAndCombinedClientsTheEnvelope) {
  start({"btcusdt@aggTrade"});
  WsTestClient upstream(sim_.url() + "/market/stream?streams=btcusdt@aggTrade&timeUnit=MICROSECOND");
  // The relay reads the simulator in microseconds; clients asking for them
  // get its bytes as they came.
  WsTestClient raw(relay_.ws_url("/ws/btcusdt@aggTrade?timeUnit=MICROSECOND"));
  WsTestClient combined(relay_.ws_url("/stream?streams=btcusdt@aggTrade&timeUnit=MICROSECOND"));
  std::map<std::int64_t, std::string> from_sim;
  for (int i = 0; i < 400; ++i) {
    const auto m = upstream.read();
    ASSERT_TRUE(m);
    from_sim[field_int(*m, "a")] = *m;
  }
  int compared = 0;
  for (int i = 0; i < 100; ++i) {
    const auto r = raw.read();
    const auto c = combined.read();
    ASSERT_TRUE(r && c);
    const auto rid = field_int(*r, "a");
    const auto cid = field_int(*c, "a");
    if (const auto it = from_sim.find(cid); it != from_sim.end()) {
      EXPECT_EQ(*c, it->second) << "the envelope must be the simulator's bytes";
      ++compared;
    }
    if (const auto it = from_sim.find(rid); it != from_sim.end()) {
      const auto& envelope = it->second;
      const auto start = envelope.find("\"data\":") + 7;
      EXPECT_EQ(*r, envelope.substr(start, envelope.size() - start - 1)) << "raw must be the data value's bytes";
      EXPECT_EQ(r->find("\"stream\""), std::string::npos);
      ++compared;
    }
  }
  EXPECT_GT(compared, 50);
}

TEST_F(RelayTest, LiveSubscribeUnsubscribeAndListChangeWhatAClientReceives) {
  // Seven requests in a row: above Binance's 5 a second, so the limit is raised.
  start({"btcusdt@aggTrade", "ethusdt@aggTrade", "bnbusdt@kline_1h"}, {"--rate", "2000"}, "client_message_rate: 100");
  WsTestClient client(relay_.ws_url("/stream"));
  auto response = [&](const std::string& id) {
    return client.read_until([&](const std::string& m) { return m.find("\"id\":" + id) != std::string::npos; });
  };
  client.send(R"({"method":"LIST_SUBSCRIPTIONS","id":1})");
  EXPECT_EQ(response("1"), std::optional<std::string>(R"({"result":[],"id":1})"));

  client.send(R"({"method":"SUBSCRIBE","params":["btcusdt@aggTrade"],"id":2})");
  EXPECT_EQ(response("2"), std::optional<std::string>(R"({"result":null,"id":2})"));
  for (int i = 0; i < 20; ++i) {
    const auto m = client.read();
    ASSERT_TRUE(m);
    EXPECT_EQ(stream_of(*m), "btcusdt@aggTrade");
  }
  client.send(R"({"method":"SUBSCRIBE","params":["ethusdt@aggTrade"],"id":"abc"})");
  EXPECT_EQ(response("\"abc\""), std::optional<std::string>(R"({"result":null,"id":"abc"})"));
  client.send(R"({"method":"LIST_SUBSCRIPTIONS","id":3})");
  EXPECT_EQ(response("3"), std::optional<std::string>(R"({"result":["btcusdt@aggTrade","ethusdt@aggTrade"],"id":3})"));
  std::set<std::string> seen;
  for (int i = 0; i < 60; ++i) {
    const auto m = client.read();
    ASSERT_TRUE(m);
    if (is_event(*m)) seen.insert(stream_of(*m));
  }
  EXPECT_EQ(seen, (std::set<std::string>{"btcusdt@aggTrade", "ethusdt@aggTrade"}));

  client.send(R"({"method":"UNSUBSCRIBE","params":["btcusdt@aggTrade"],"id":4})");
  ASSERT_TRUE(response("4"));
  // Everything after the answer comes from the remaining subscription only.
  for (int i = 0; i < 40; ++i) {
    const auto m = client.read();
    ASSERT_TRUE(m);
    EXPECT_EQ(stream_of(*m), "ethusdt@aggTrade");
  }
  // A stream the relay does not carry: Binance's error shape, and the
  // connection stays usable.
  client.send(R"({"method":"SUBSCRIBE","params":["xrpusdt@aggTrade"],"id":5})");
  const auto error = response("5");
  ASSERT_TRUE(error);
  const auto e = json::parse(*error);
  EXPECT_EQ(e.at("error").at("code").as_int64(), 2);
  EXPECT_NE(std::string(e.at("error").at("msg").as_string()).find("xrpusdt@aggTrade"), std::string::npos);
  client.send(R"({"method":"GET_PROPERTY","params":["combined"],"id":6})");
  EXPECT_EQ(response("6"), std::optional<std::string>(R"({"result":true,"id":6})"));
}

TEST_F(RelayTest, RunsAsASingleThreadWhileServing) {
  start({"btcusdt@aggTrade", "ethusdt@aggTrade"});
  std::vector<std::unique_ptr<WsTestClient>> clients;
  for (int i = 0; i < 10; ++i) clients.push_back(std::make_unique<WsTestClient>(relay_.ws_url("/ws/btcusdt@aggTrade")));
  for (auto& c : clients) ASSERT_TRUE(c->read());
  EXPECT_EQ(thread_count(relay_.process->pid()), 1u);
  EXPECT_EQ(relay_.metric("tickrelay_process_threads"), 1);
}

TEST_F(RelayTest, MetricsCoverProcessUpstreamAndClients) {
  start({"btcusdt@aggTrade"});
  WsTestClient a(relay_.ws_url("/ws/btcusdt@aggTrade"));
  WsTestClient b(relay_.ws_url("/ws/btcusdt@aggTrade"));
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(a.read() && b.read());
  EXPECT_GE(relay_.metric("process_cpu_seconds_total"), 0);
  EXPECT_GT(relay_.metric("process_resident_memory_bytes"), 1 << 20);
  EXPECT_GT(relay_.metric("process_open_fds"), 3);
  EXPECT_GT(relay_.metric("tickrelay_upstream_messages_total"), 50);
  EXPECT_GE(relay_.metric("tickrelay_delivered_messages_total"), 100);
  EXPECT_EQ(relay_.metric("tickrelay_clients_connected"), 2);
  EXPECT_EQ(relay_.metric("tickrelay_upstream_connected", "shard=\"0\""), 1);
  EXPECT_EQ(relay_.metric("tickrelay_build_info"), 1);
}

TEST(RelayConfig, BadConfigIsRefusedWithItsLineKeyAndReason) {
  TempDir dir;
  const auto path = dir.write("bad.yaml",
                              "upstreams:\n"
                              "  - name: u\n"
                              "    url: wss://fstream.binance.com\n"
                              "    streams: [\"btcusdt@kline_1h\"]\n"
                              "    max_streams_per_connection: 5000\n");
  ChildProcess check({bin("tickrelayd"), "--check-config", path});
  EXPECT_EQ(check.wait(std::chrono::seconds(10)), 1);
  const auto out = check.output();
  EXPECT_NE(out.find("bad.yaml:5:"), std::string::npos) << out;
  EXPECT_NE(out.find("upstreams[0].max_streams_per_connection"), std::string::npos) << out;
  EXPECT_NE(out.find("between 1 and 1024"), std::string::npos) << out;

  ChildProcess run({bin("tickrelayd"), "--config", path});
  EXPECT_EQ(run.wait(std::chrono::seconds(10)), 1);
  EXPECT_NE(run.output().find("bad.yaml:5:"), std::string::npos);

  const auto good = dir.write("good.yaml",
                              "upstreams:\n"
                              "  - name: u\n"
                              "    url: wss://fstream.binance.com\n"
                              "    streams: [\"btcusdt@kline_1h\", \"btcusdt@bookTicker\"]\n");
  ChildProcess ok({bin("tickrelayd"), "--check-config", good});
  EXPECT_EQ(ok.wait(std::chrono::seconds(10)), 0);
  EXPECT_NE(ok.output().find("2 stream(s) on 2 connection(s)"), std::string::npos) << ok.output();
}

TEST(RelayConfig, ShippedConfigsAreValid) {
  for (const char* name : {"tickrelayd.yaml"}) {
    ChildProcess check({bin("tickrelayd"), "--check-config", std::string(TICKRELAY_SOURCE_DIR) + "/config/" + name});
    EXPECT_EQ(check.wait(std::chrono::seconds(10)), 0) << check.output();
    EXPECT_NE(check.output().find("346 stream(s) on 2 connection(s)"), std::string::npos) << check.output();
  }
}

}  // namespace
}  // namespace tickrelay::test
