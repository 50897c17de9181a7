// Relay of relays, the two-box form: relay A reads the simulator, relay B's
// upstream is A's Binance-compatible client port, clients connect to B.
// Through two hops every event arrives once, last values are replayed, the
// time unit B asks for is the one it gets, and B's clients stay connected
// while A is killed and started again.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <set>

#include "fanout_clients.hpp"
#include "process_runner.hpp"
#include "programs.hpp"
#include "ws_test_client.hpp"

namespace tickrelay::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

bool is_event(const std::string& message) {
  return message.find("\"result\"") == std::string::npos && message.find("\"error\"") == std::string::npos;
}

const json::object& event_of(const json::value& v) {
  return v.as_object().contains("data") ? v.at("data").as_object() : v.as_object();
}

// B's upstream entry: A's client port where Binance's URL would be, the
// same product and streams; `extra` lines go under the entry.
std::string relay_upstream(const std::string& url, const std::string& product, const std::vector<std::string>& streams,
                           const std::string& extra = "") {
  return upstream_yaml("relay-a", "url: " + url + "\nproduct: " + product, streams, extra);
}

std::string plain_url(const Relay& relay) { return "ws://127.0.0.1:" + std::to_string(relay.client_port); }

// Keeps every client reading while the test waits on something else, so
// none falls behind B's lag bound meanwhile.
void pump(FanoutClients& clients, std::chrono::milliseconds for_how_long) {
  clients.run_until_each_has(std::numeric_limits<std::uint64_t>::max(), for_how_long);
}

// The next `n` events' aggregate ids and their bytes.
std::map<std::int64_t, std::string> agg_events(WsTestClient& client, int n) {
  std::map<std::int64_t, std::string> out;
  for (int i = 0; i < n; ++i) {
    const auto m = client.read_until(is_event);
    if (!m) break;
    out[event_of(json::parse(*m)).at("a").as_int64()] = *m;
  }
  return out;
}

class RelayOfRelaysTest : public ::testing::Test {
 protected:
  // The simulator over btcusdt and ethusdt with `sim_args`, and relay A
  // reading `streams` from it (USD-M paths, microseconds).
  void start_sim_and_a(std::vector<std::string> sim_args, const std::vector<std::string>& streams,
                       const std::string& a_server = "") {
    sim_args.insert(sim_args.end(), {"--symbols", "btcusdt,ethusdt"});
    sim_ = start_sim(sim_args);
    a_ = start_relay(dir_, sim_upstream(sim_, streams), a_server);
  }
  // Relay B reading the same `streams` from A, in microseconds as A does.
  void start_b(const std::vector<std::string>& streams, const std::string& b_upstream = "") {
    b_ = start_relay(dir_,
                     relay_upstream(plain_url(a_), "usdm-futures", streams, "time_unit: microsecond\n" + b_upstream));
  }
  void start(std::vector<std::string> sim_args, const std::vector<std::string>& streams,
             const std::string& a_server = "", const std::string& b_upstream = "") {
    start_sim_and_a(std::move(sim_args), streams, a_server);
    start_b(streams, b_upstream);
  }

  // SIGKILL, as a crash: no close frame reaches B.
  void kill_a() {
    a_.process->signal(SIGKILL);
    ASSERT_TRUE(a_.process->wait(10s));
  }
  // A again from its config file, on the same ports.
  void restart_a() {
    a_.process = std::make_unique<ChildProcess>(
        std::vector<std::string>{bin("tickrelayd"), "--config", a_.config_path});
    ASSERT_TRUE(
        eventually([&] { return !a_.process->running() || http_get(a_.metrics_port, "/healthz").first == 200; }));
    ASSERT_TRUE(a_.process->running()) << a_.process->output();
  }

  TempDir dir_;
  Sim sim_;
  Relay a_;
  Relay b_;
};

TEST_F(RelayOfRelaysTest, EdgeClientsReceiveEveryEventOnceAndTheRelaysPingEachOther) {
  // A pings B whenever B has said nothing for 300 ms, which B (sending
  // nothing but pongs) always has: every ping must be answered in time.
  start({"--rate", "2000"}, {"btcusdt@aggTrade", "ethusdt@aggTrade"}, "idle_ping: 300ms");
  FanoutClients clients(b_.ws_url("/ws/btcusdt@aggTrade"), 20, "a");
  ASSERT_TRUE(clients.run_until_each_has(4000, 60s));
  expect_every_event(clients);
  EXPECT_EQ(a_.metric("tickrelay_clients_connected"), 1) << "B is A's one client";
  EXPECT_EQ(a_.metric("tickrelay_client_disconnects_total"), 0);
  EXPECT_EQ(b_.metric("tickrelay_clients_connected"), 20);
  EXPECT_EQ(b_.metric("tickrelay_upstream_connected"), 1);
  EXPECT_EQ(b_.metric("tickrelay_upstream_reconnects_total"), 0);
  EXPECT_EQ(b_.metric("tickrelay_upstream_malformed_total"), 0);
  EXPECT_EQ(b_.metric("tickrelay_upstream_unknown_stream_total"), 0);
  EXPECT_EQ(b_.metric("tickrelay_upstream_gaps_total", "stream_type=\"aggTrade\""), 0);
  EXPECT_EQ(a_.process->output().find("no answer to our ping"), std::string::npos);
}

TEST_F(RelayOfRelaysTest, LastValuesAreReplayedThroughBothRelays) {
  // One event a second over two streams: each changes every 2 s, so a
  // replayed value is recognisably the one A already had.
  const std::vector<std::string> streams = {"btcusdt@kline_1h", "btcusdt@bookTicker"};
  start_sim_and_a({"--rate", "1"}, streams);
  WsTestClient on_a(a_.ws_url("/ws/btcusdt@kline_1h/btcusdt@bookTicker?timeUnit=MICROSECOND"));
  std::map<std::string, std::string> latest;  // event type -> its latest bytes on A
  while (latest.size() < 2) {
    const auto m = on_a.read(15s);
    ASSERT_TRUE(m);
    latest[std::string(json::parse(*m).at("e").as_string())] = *m;
  }
  // B starts only now: its only way to these values is A's replay to it.
  start_b(streams);
  WsTestClient on_b(b_.ws_url("/ws/btcusdt@kline_1h/btcusdt@bookTicker?timeUnit=MICROSECOND"));
  std::map<std::string, std::string> first;
  while (first.size() < 2) {
    const auto m = on_b.read(15s);
    ASSERT_TRUE(m);
    first.emplace(std::string(json::parse(*m).at("e").as_string()), *m);
  }
  while (auto newer = on_a.read(0ms)) latest[std::string(json::parse(*newer).at("e").as_string())] = *newer;
  EXPECT_EQ(first, latest) << "B's late client gets A's latest kline and bookTicker, byte for byte";
}

TEST_F(RelayOfRelaysTest, EdgeClientsStayConnectedWhileTheRelayBehindThemRestarts) {
  start({"--rate", "1000"}, {"btcusdt@aggTrade"}, "", "reconnect: { base: 100ms, cap: 1s }");
  FanoutClients clients(b_.ws_url("/ws/btcusdt@aggTrade"), 10, "a");
  ASSERT_TRUE(clients.run_until_each_has(500, 30s));
  expect_every_event(clients);

  kill_a();
  ASSERT_TRUE(eventually([&] {
    pump(clients, 50ms);
    return b_.metric("tickrelay_upstream_connected") == 0;
  }));
  std::uint64_t before = 0;
  for (const auto& t : clients.tallies()) before = std::max(before, t.messages);
  restart_a();
  ASSERT_TRUE(eventually([&] {
    pump(clients, 50ms);
    return b_.metric("tickrelay_upstream_connected") == 1;
  }));
  ASSERT_TRUE(clients.run_until_each_has(before + 500, 30s));

  // The simulator went on while A was down: every client skipped those
  // events once, and saw nothing twice.
  std::size_t i = 0;
  for (const auto& t : clients.tallies()) {
    const auto who = "client " + std::to_string(i++);
    EXPECT_FALSE(t.closed) << who;
    EXPECT_GE(t.messages, before + 500) << who;
    EXPECT_GE(t.gaps, 1u) << who;
    EXPECT_EQ(t.duplicates, 0u) << who;
  }
  EXPECT_GE(b_.metric("tickrelay_upstream_gaps_total", "stream_type=\"aggTrade\""), 1);
  EXPECT_GE(b_.metric("tickrelay_upstream_reconnects_total"), 1);
  EXPECT_EQ(b_.metric("tickrelay_clients_connected"), 10);
  EXPECT_EQ(a_.metric("tickrelay_clients_connected"), 1) << "B is back as A's client";
}

TEST_F(RelayOfRelaysTest, StreamsAddedOnReloadAreSubscribedOnTheRunningConnectionToA) {
  // B carries one of A's 26 streams; the reload adds the other 25, which B
  // asks A for with SUBSCRIBE on the connection it has. A allows a client 5
  // messages a second: more than one SUBSCRIBE a stream would be cut.
  std::vector<std::string> all = {"btcusdt@aggTrade", "ethusdt@aggTrade"};
  for (const char* symbol : {"btcusdt", "ethusdt"}) {
    for (const char* interval : {"1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d"})
      all.push_back(std::string(symbol) + "@kline_" + interval);
  }
  // Without A's replay, a stream reaches B only once A has B's SUBSCRIBE
  // for it, or once B reconnected with it in its URL.
  start_sim_and_a({"--rate", "500"}, all, "replay: { kline: false }");
  start_b({"btcusdt@aggTrade"});
  WsTestClient client(b_.ws_url("/ws/btcusdt@aggTrade"));
  ASSERT_TRUE(client.read());
  dir_.write(std::filesystem::path(b_.config_path).filename().string(),
             relay_yaml(relay_upstream(plain_url(a_), "usdm-futures", all, "time_unit: microsecond"), b_.client_port,
                        b_.metrics_port));
  b_.process->signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return b_.metric("tickrelay_streams_carried") == 26; }));
  std::string path = "/stream?streams=";
  for (std::size_t i = 0; i < all.size(); ++i) path += (i ? "/" : "") + all[i];
  WsTestClient everything(b_.ws_url(path));
  std::set<std::string> seen;
  for (int i = 0; i < 100000 && seen.size() < all.size(); ++i) {
    const auto m = everything.read_until(is_event);
    ASSERT_TRUE(m) << "seen " << seen.size() << " of " << all.size();
    seen.insert(std::string(json::parse(*m).at("stream").as_string()));
  }
  EXPECT_EQ(seen, std::set<std::string>(all.begin(), all.end()));
  // A's answer to the SUBSCRIBE is a response to B, not a fault, and B
  // stayed within A's message rate.
  ASSERT_TRUE(client.read());
  EXPECT_FALSE(client.closed());
  EXPECT_EQ(b_.metric("tickrelay_upstream_reconnects_total"), 0);
  EXPECT_EQ(b_.metric("tickrelay_upstream_malformed_total"), 0);
  EXPECT_EQ(a_.metric("tickrelay_client_disconnects_total"), 0);
  EXPECT_EQ(a_.metric("tickrelay_clients_connected"), 1);
}

// Spot, nothing said about time: each relay asks its upstream for
// microseconds (timeUnit=MICROSECOND) and B gets A's events in them, the
// same bytes; a client of B that asks nothing gets milliseconds.
TEST_F(RelayOfRelaysTest, SpotEdgeGetsTheMicrosecondsItAsksFor) {
  sim_ = start_sim({"--rate", "500", "--symbols", "btcusdt"});
  a_ = start_relay(dir_, relay_upstream(sim_.url(), "spot", {"btcusdt@aggTrade"}));
  b_ = start_relay(dir_, relay_upstream(plain_url(a_), "spot", {"btcusdt@aggTrade"}));
  EXPECT_TRUE(eventually([&] { return b_.process->output().find("timeUnit=MICROSECOND") != std::string::npos; }))
      << b_.process->output();
  WsTestClient us_on_a(a_.ws_url("/ws/btcusdt@aggTrade?timeUnit=MICROSECOND"));
  WsTestClient us_on_b(b_.ws_url("/ws/btcusdt@aggTrade?timeUnit=MICROSECOND"));
  WsTestClient ms_on_b(b_.ws_url("/ws/btcusdt@aggTrade"));
  const auto from_a = agg_events(us_on_a, 300);
  const auto us = agg_events(us_on_b, 200);
  const auto ms = agg_events(ms_on_b, 200);
  int compared = 0;
  for (const auto& [id, bytes] : us) {
    const auto e_us = json::parse(bytes).at("E").as_int64();
    EXPECT_GT(e_us, 100'000'000'000'000) << bytes;
    if (const auto it = from_a.find(id); it != from_a.end()) {
      EXPECT_EQ(bytes, it->second) << "B passes A's microsecond bytes on unchanged";
      ++compared;
    }
    if (const auto it = ms.find(id); it != ms.end()) {
      EXPECT_EQ(json::parse(it->second).at("E").as_int64(), e_us / 1000) << it->second;
    }
  }
  EXPECT_GT(compared, 50);
}

TEST_F(RelayOfRelaysTest, WssBetweenTheRelaysWithATestCertificate) {
  const auto certs = make_test_certificates(dir_, {"localhost", "127.0.0.1"});
  start_sim_and_a({"--rate", "1000"}, {"btcusdt@aggTrade"},
                  "tls: { cert_file: " + certs.cert_file + ", key_file: " + certs.key_file + " }");
  b_ = start_relay(dir_, relay_upstream("wss://localhost:" + std::to_string(a_.client_port), "usdm-futures",
                                        {"btcusdt@aggTrade"},
                                        "time_unit: microsecond\ntls: { ca_file: " + certs.ca_file + " }"));
  FanoutClients clients(b_.ws_url("/ws/btcusdt@aggTrade"), 5, "a");
  ASSERT_TRUE(clients.run_until_each_has(1000, 30s));
  expect_every_event(clients);
  EXPECT_EQ(b_.metric("tickrelay_upstream_reconnects_total", "reason=\"tls_failed\""), 0);
}

}  // namespace
}  // namespace tickrelay::test
