// The relay's upstream side against a misbehaving simulator: drops, stalls,
// rotations, serverShutdown, refusals, malformed frames, sharding and TLS.
// Through all of it the relay's clients stay connected.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <fstream>
#include <set>

#include "process_runner.hpp"
#include "programs.hpp"
#include "ws_test_client.hpp"

namespace tickrelay::test {
namespace {

namespace json = boost::json;

std::int64_t agg_id(const std::string& message) { return json::parse(message).at("a").as_int64(); }

// Reads raw aggTrade events until `until` holds (checked every 100 messages)
// or `max_messages` were read; fails on any gap or duplicate.
template <class Until>
void expect_every_id_once(WsTestClient& client, Until until, int max_messages) {
  std::int64_t last = -1;
  for (int i = 0; i < max_messages; ++i) {
    const auto m = client.read();
    ASSERT_TRUE(m) << "no message after " << i << " (closed=" << client.closed() << ")";
    const auto id = agg_id(*m);
    if (last >= 0) {
      ASSERT_EQ(id, last + 1) << "gap or duplicate after " << i << " messages";
    }
    last = id;
    if (i % 100 == 99 && until()) return;
  }
  FAIL() << "condition not reached in " << max_messages << " messages";
}

class UpstreamTest : public ::testing::Test {
 protected:
  void start(std::vector<std::string> sim_args, const std::string& upstream_extra = "",
             std::vector<std::string> streams = {"btcusdt@aggTrade"}) {
    sim_args.insert(sim_args.end(), {"--symbols", "btcusdt,ethusdt"});
    sim_ = start_sim(sim_args);
    relay_ = start_relay(dir_, sim_upstream(sim_, streams, upstream_extra));
  }
  TempDir dir_;
  Sim sim_;
  Relay relay_;
};

TEST_F(UpstreamTest, DroppedConnectionIsReconnectedAndClientsKeepReceiving) {
  start({"--rate", "1000", "--drop-every", "1.5"}, "reconnect: { base: 100ms, cap: 1s }");
  WsTestClient client(relay_.ws_url("/ws/btcusdt@aggTrade"));
  int received = 0;
  ASSERT_TRUE(eventually([&] {
    while (auto m = client.read(std::chrono::milliseconds(50))) ++received;
    return relay_.metric("tickrelay_upstream_reconnects_total", "reason=\"read_error\"") >= 2;
  }));
  // After the reconnects the same client, never closed, receives again.
  const auto before = received;
  ASSERT_TRUE(client.read_until([](const std::string&) { return true; }));
  EXPECT_FALSE(client.closed());
  EXPECT_GT(received, before > 0 ? 0 : -1);
  EXPECT_EQ(relay_.metric("tickrelay_clients_connected"), 1);
  EXPECT_EQ(relay_.metric("tickrelay_upstream_reconnects_total", "reason=\"stall\""), 0);
}

TEST_F(UpstreamTest, RotationBeforeMaxAgeDeliversEveryEventExactlyOnce) {
  // The relay replaces each connection after 1 s, well before the
  // simulator's own 3 s limit would cut it.
  start({"--rate", "2000", "--max-connection-age", "3"}, "max_connection_age: 1s");
  WsTestClient client(relay_.ws_url("/ws/btcusdt@aggTrade"));
  expect_every_id_once(
      client, [&] { return relay_.metric("tickrelay_upstream_reconnects_total", "reason=\"rotation\"") >= 3; }, 200000);
  EXPECT_GT(relay_.metric("tickrelay_upstream_duplicates_total"), 0) << "the overlap carried events twice";
  EXPECT_EQ(relay_.metric("tickrelay_upstream_reconnects_total", "reason=\"closed_by_server\""), 0);
}

TEST_F(UpstreamTest, ServerShutdownTriggersAnImmediateGaplessReplacement) {
#ifdef __SANITIZE_ADDRESS__
  // The sanitized relay on a loaded machine may need more than the default
  // second to open its replacement; gapless is still the claim.
  start({"--rate", "2000", "--shutdown-after", "1", "--shutdown-grace", "5"});
#else
  start({"--rate", "2000", "--shutdown-after", "1"});
#endif
  WsTestClient client(relay_.ws_url("/ws/btcusdt@aggTrade"));
  expect_every_id_once(
      client, [&] { return relay_.metric("tickrelay_upstream_reconnects_total", "reason=\"server_shutdown\"") >= 3; },
      200000);
  EXPECT_FALSE(client.closed());
}

TEST_F(UpstreamTest, StalledConnectionIsReplaced) {
  start({"--rate", "1000", "--stall-after", "1", "--stall-for", "0"},
        "stall_timeout: 500ms\nreconnect: { base: 100ms, cap: 1s }");
  WsTestClient client(relay_.ws_url("/ws/btcusdt@aggTrade"));
  ASSERT_TRUE(eventually([&] {
    while (client.read(std::chrono::milliseconds(20))) {
    }
    return relay_.metric("tickrelay_upstream_reconnects_total", "reason=\"stall\"") >= 1;
  }));
  // The replacement delivers (until it, too, stalls a second later).
  ASSERT_TRUE(client.read_until([](const std::string&) { return true; }, std::chrono::seconds(10)));
  EXPECT_FALSE(client.closed());
}

TEST_F(UpstreamTest, RefusedConnectionsAreRetriedUntilAccepted) {
  start({"--rate", "1000", "--refuse-first", "3"}, "reconnect: { base: 50ms, cap: 200ms }");
  WsTestClient client(relay_.ws_url("/ws/btcusdt@aggTrade"));
  ASSERT_TRUE(client.read());
  EXPECT_GE(relay_.metric("tickrelay_upstream_reconnects_total", "reason=\"handshake_failed\""), 3);
}

TEST_F(UpstreamTest, MalformedFramesAreCountedAndNeverForwarded) {
  start({"--rate", "2000", "--malformed-every", "3"});
  WsTestClient raw(relay_.ws_url("/ws/btcusdt@aggTrade"));
  WsTestClient combined(relay_.ws_url("/stream?streams=btcusdt@aggTrade"));
  for (int i = 0; i < 300; ++i) {
    const auto r = raw.read();
    const auto c = combined.read();
    ASSERT_TRUE(r && c);
    const auto event = json::parse(*r).as_object();
    EXPECT_EQ(event.at("e").as_string(), "aggTrade");
    EXPECT_TRUE(event.at("E").is_int64());
    EXPECT_EQ(event.at("s").as_string(), "BTCUSDT");
    const auto envelope = json::parse(*c).as_object();
    EXPECT_EQ(envelope.at("stream").as_string(), "btcusdt@aggTrade");
    EXPECT_EQ(envelope.at("data").at("e").as_string(), "aggTrade");
  }
  EXPECT_GT(relay_.metric("tickrelay_upstream_malformed_total"), 0);
  EXPECT_GT(relay_.metric("tickrelay_upstream_unknown_stream_total"), 0);
}

TEST(UpstreamSharding, ThreeHundredFortySixStreamsOnTwoConnectionsAllDeliver) {
  TempDir dir;
  const std::string pairs = std::string(TICKRELAY_SOURCE_DIR) + "/config/usdt-pairs.txt";
  const auto sim = start_sim({"--rate", "20000", "--symbols-file", pairs});
  const auto relay = start_relay(dir, sim_upstream(sim, {"{symbol}@kline_1h"},
                                                   "symbols_file: " + pairs + "\nmax_streams_per_connection: 200"));
  EXPECT_EQ(relay.metric("tickrelay_upstream_connected"), 2);
  EXPECT_EQ(relay.metric("tickrelay_upstream_connected", "shard=\"1\""), 1);
  EXPECT_EQ(relay.metric("tickrelay_streams_carried"), 346);
  std::ifstream in(pairs);
  std::string line, path = "/stream?streams=";
  std::set<std::string> wanted;
  while (std::getline(in, line)) {
    auto symbol = line.substr(line.find(':') + 1);
    for (auto& ch : symbol) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    wanted.insert(symbol + "@kline_1h");
    path += (wanted.size() > 1 ? "/" : "") + symbol + "@kline_1h";
  }
  ASSERT_EQ(wanted.size(), 346u);
  WsTestClient client(relay.ws_url(path));
  std::set<std::string> seen;
  for (int i = 0; i < 100000 && seen.size() < wanted.size(); ++i) {
    const auto m = client.read();
    ASSERT_TRUE(m);
    seen.insert(std::string(json::parse(*m).at("stream").as_string()));
  }
  EXPECT_EQ(seen, wanted);
}

class UpstreamTls : public ::testing::Test {
 protected:
  TempDir dir_;
};

TEST_F(UpstreamTls, SimulatorCertificateIsAcceptedWithItsCaFile) {
  const auto certs = make_test_certificates(dir_, {"localhost", "127.0.0.1"});
  const auto sim = start_sim({"--rate", "500", "--symbols", "btcusdt"}, &certs);
  const auto relay = start_relay(dir_,
                                 sim_upstream(sim, {"btcusdt@aggTrade"}, "tls: { ca_file: " + certs.ca_file + " }"));
  WsTestClient client(relay.ws_url("/ws/btcusdt@aggTrade"));
  EXPECT_TRUE(client.read());
  EXPECT_EQ(relay.metric("tickrelay_upstream_reconnects_total", "reason=\"tls_failed\""), 0);
}

// Ctrl-C on the simulator with TLS clients mid-stream (the relay among
// them): every client gets close 1001 and the simulator exits 0.
TEST_F(UpstreamTls, InterruptedSimulatorClosesItsClientsWith1001AndExitsZero) {
  const auto certs = make_test_certificates(dir_, {"localhost", "127.0.0.1"});
  const auto sim = start_sim({"--rate", "2000", "--symbols", "btcusdt"}, &certs);
  const auto relay = start_relay(dir_,
                                 sim_upstream(sim, {"btcusdt@aggTrade"}, "tls: { ca_file: " + certs.ca_file + " }"));
  WsTestClient::Options verified;
  verified.ca_file = certs.ca_file;
  std::vector<std::unique_ptr<WsTestClient>> clients;
  for (int i = 0; i < 10; ++i) {
    clients.push_back(std::make_unique<WsTestClient>(sim.url() + "/ws/btcusdt@aggTrade", verified));
    ASSERT_TRUE(clients.back()->read());
  }
  WsTestClient through_relay(relay.ws_url("/ws/btcusdt@aggTrade"));
  ASSERT_TRUE(through_relay.read());
  sim.process->signal(SIGINT);
  for (auto& client : clients) {
    for (int i = 0; i < 100000 && client->read(std::chrono::seconds(5)); ++i) {
    }
    EXPECT_TRUE(client->closed());
    EXPECT_EQ(client->close_code(), 1001);
  }
  const auto code = sim.process->wait(std::chrono::seconds(20));
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0) << sim.process->output();
}

TEST_F(UpstreamTls, UnknownIssuerIsRefused) {
  const auto certs = make_test_certificates(dir_, {"localhost", "127.0.0.1"});
  const auto sim = start_sim({"--rate", "500", "--symbols", "btcusdt"}, &certs);
  // No ca_file: the system store does not know the test CA.
  const auto relay = start_relay(dir_, sim_upstream(sim, {"btcusdt@aggTrade"}, "reconnect: { base: 50ms, cap: 200ms }"),
                                 "", false);
  ASSERT_TRUE(
      eventually([&] { return relay.metric("tickrelay_upstream_reconnects_total", "reason=\"tls_failed\"") >= 2; }));
  EXPECT_EQ(relay.metric("tickrelay_upstream_connected"), 0);
  EXPECT_EQ(http_get(relay.metrics_port, "/healthz").first, 503);
}

TEST_F(UpstreamTls, CertificateForAnotherHostNameIsRefused) {
  const auto certs = make_test_certificates(dir_, {"otherhost.test"});
  const auto sim = start_sim({"--rate", "500", "--symbols", "btcusdt"}, &certs);
  const auto relay = start_relay(dir_,
                                 sim_upstream(sim, {"btcusdt@aggTrade"},
                                              "tls: { ca_file: " + certs.ca_file +
                                                  " }\nreconnect: { base: 50ms, cap: 200ms }"),
                                 "", false);
  ASSERT_TRUE(
      eventually([&] { return relay.metric("tickrelay_upstream_reconnects_total", "reason=\"tls_failed\"") >= 2; }));
  EXPECT_EQ(relay.metric("tickrelay_upstream_connected"), 0);
}

TEST_F(UpstreamTls, TurningVerificationOffNeedsTheKeyAndWarns) {
  const auto certs = make_test_certificates(dir_, {"otherhost.test"});
  const auto sim = start_sim({"--rate", "500", "--symbols", "btcusdt"}, &certs);
  const auto relay = start_relay(dir_, sim_upstream(sim, {"btcusdt@aggTrade"}, "tls: { verify: false }"));
  WsTestClient client(relay.ws_url("/ws/btcusdt@aggTrade"));
  EXPECT_TRUE(client.read());
  EXPECT_NE(relay.process->output().find("verification is OFF"), std::string::npos);
}

}  // namespace
}  // namespace tickrelay::test
