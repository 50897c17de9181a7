// `systemctl reload tickrelayd` (SIGHUP) with clients connected: the new YAML
// is validated as a whole, then applied without dropping anyone; a broken
// one is refused with its line, key and reason and the old one keeps running.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <sstream>

#include "notify_socket.hpp"
#include "process_runner.hpp"
#include "programs.hpp"
#include "service_launcher.hpp"
#include "ws_test_client.hpp"

namespace tickrelay::test {
namespace {

namespace json = boost::json;

bool is_response(const std::string& m) {
  return m.find("\"result\"") != std::string::npos || m.find("\"error\"") != std::string::npos;
}

std::string symbol_of(const std::string& event) {
  const auto v = json::parse(event);
  const auto& data = v.as_object().contains("data") ? v.at("data") : v;
  return std::string(data.at("s").as_string());
}

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

std::string retired_message(const std::string& stream) {
  return R"({"error":{"code":2,"msg":"Invalid request: stream `)" + stream +
         R"(` is no longer carried by this relay"},"id":null})";
}

class ReloadTest : public ::testing::Test {
 protected:
  void SetUp() override { sim_ = start_sim({"--rate", "600", "--symbols", "btcusdt,ethusdt,bnbusdt"}); }

  std::string yaml(const std::vector<std::string>& streams, const std::string& server_extra = "",
                   const std::string& level = "debug", const std::string& upstream_extra = "") const {
    auto text = relay_yaml(sim_upstream(sim_, streams, upstream_extra), relay_.client_port, relay_.metrics_port,
                           server_extra);
    text.replace(text.find("level: debug"), 12, "level: " + level);
    return text;
  }

  void start(const std::vector<std::string>& streams, const std::string& server_extra = "") {
    relay_.client_port = free_port();
    relay_.metrics_port = free_port();
    relay_.config_path = dir_.write("tickrelayd.yaml", yaml(streams, server_extra));
    relay_.process = start_service(relay_.config_path, {notify_.env()});
    ASSERT_TRUE(notify_.wait_for("READY=1")) << relay_.process->output();
  }

  // Writes the new YAML and reloads as `systemctl reload` does; returns once
  // the daemon is READY=1 again.
  void reload(const std::string& text) {
    dir_.write("tickrelayd.yaml", text);
    relay_.process->signal(SIGHUP);
    ASSERT_TRUE(notify_.wait_for("RELOADING=1")) << relay_.process->output();
    ASSERT_TRUE(notify_.wait_for("READY=1")) << relay_.process->output();
  }

  static std::optional<std::string> response(WsTestClient& client, const std::string& id) {
    return client.read_until([&](const std::string& m) { return m.find("\"id\":" + id) != std::string::npos; });
  }

  TempDir dir_;
  NotifySocket notify_{dir_.file("notify")};
  Sim sim_;
  Relay relay_;
};

TEST_F(ReloadTest, AddedStreamsReachConnectedClientsRemovedOnesStopNobodyIsDropped) {
  start({"btcusdt@aggTrade", "ethusdt@aggTrade"}, "client_message_rate: 100");
  WsTestClient raw(relay_.ws_url("/ws/btcusdt@aggTrade"));
  WsTestClient combined(relay_.ws_url("/stream?streams=btcusdt@aggTrade/ethusdt@aggTrade"));
  WsTestClient idle(relay_.ws_url("/ws"));
  ASSERT_TRUE(raw.read() && combined.read());
  idle.send(R"({"method":"SUBSCRIBE","params":["bnbusdt@aggTrade"],"id":1})");
  const auto refused = response(idle, "1");
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->find("not carried"), std::string::npos) << *refused;

  // btcusdt goes, bnbusdt comes, ethusdt stays.
  reload(yaml({"ethusdt@aggTrade", "bnbusdt@aggTrade"}, "client_message_rate: 100"));
  EXPECT_NE(relay_.process->output().find("configuration applied streams=2 retired=1"), std::string::npos)
      << relay_.process->output();

  // The removed stream's clients are told, in Binance's error shape.
  EXPECT_EQ(raw.read_until(is_response), retired_message("btcusdt@aggTrade"));
  EXPECT_EQ(combined.read_until(is_response), retired_message("btcusdt@aggTrade"));
  // The combined client keeps the stream that stayed, and only that.
  for (int i = 0; i < 50; ++i) {
    const auto m = combined.read();
    ASSERT_TRUE(m) << "combined client stalled after the reload";
    EXPECT_EQ(json::parse(*m).at("stream").as_string(), "ethusdt@aggTrade");
  }
  // A client connected before the reload receives the added stream.
  idle.send(R"({"method":"SUBSCRIBE","params":["bnbusdt@aggTrade"],"id":2})");
  EXPECT_EQ(response(idle, "2"), std::optional<std::string>(R"({"result":null,"id":2})"));
  for (int i = 0; i < 20; ++i) {
    const auto m = idle.read();
    ASSERT_TRUE(m) << "the added stream does not arrive";
    EXPECT_EQ(symbol_of(*m), "BNBUSDT");
  }
  // The raw client lost its only stream but not its connection.
  raw.send(R"({"method":"SUBSCRIBE","params":["bnbusdt@aggTrade"],"id":3})");
  EXPECT_EQ(response(raw, "3"), std::optional<std::string>(R"({"result":null,"id":3})"));
  const auto bnb = raw.read();
  ASSERT_TRUE(bnb);
  EXPECT_EQ(symbol_of(*bnb), "BNBUSDT");

  EXPECT_FALSE(raw.closed() || combined.closed() || idle.closed());
  EXPECT_EQ(relay_.metric("tickrelay_clients_connected"), 3);
  EXPECT_LE(relay_.metric("tickrelay_client_disconnects_total"), 0);
  // Both streams ride the one connection there was: the upstream was
  // changed in place, not opened a second time.
  EXPECT_EQ(relay_.metric("tickrelay_upstream_connected"), 1);
  EXPECT_EQ(count(relay_.process->output(), "upstream starting upstream=sim"), 1u) << relay_.process->output();
}

TEST_F(ReloadTest, LimitsAndLogLevelChangeForTheRunningDaemon) {
  start({"btcusdt@aggTrade"}, "max_clients: 10");
  WsTestClient first(relay_.ws_url("/ws/btcusdt@aggTrade"));
  ASSERT_TRUE(first.read());
  ASSERT_TRUE(eventually([&] { return count(relay_.process->output(), "client connected peer=") == 1; }));

  // Down to two clients and to info: a second client is admitted, a third
  // refused, and per-connection (debug) lines stop.
  reload(yaml({"btcusdt@aggTrade"}, "max_clients: 2", "info"));
  WsTestClient second(relay_.ws_url("/ws/btcusdt@aggTrade"));
  ASSERT_TRUE(second.read());
  EXPECT_EQ(handshake_status(relay_.ws_url("/ws/btcusdt@aggTrade")), 503);
  EXPECT_EQ(count(relay_.process->output(), "client connected peer="), 1u);

  // And back up.
  reload(yaml({"btcusdt@aggTrade"}, "max_clients: 3", "debug"));
  WsTestClient third(relay_.ws_url("/ws/btcusdt@aggTrade"));
  ASSERT_TRUE(third.read());
  EXPECT_TRUE(eventually([&] { return count(relay_.process->output(), "client connected peer=") == 2; }));
  ASSERT_TRUE(first.read());
  EXPECT_FALSE(first.closed());
}

TEST_F(ReloadTest, BrokenYamlIsRefusedWithLineKeyAndReasonAndTheOldConfigurationRuns) {
  start({"btcusdt@aggTrade"}, "client_message_rate: 100");
  WsTestClient client(relay_.ws_url("/ws/btcusdt@aggTrade"));
  ASSERT_TRUE(client.read());

  // A value out of range; everything else in the file is fine.
  const auto bad = yaml({"btcusdt@aggTrade", "ethusdt@aggTrade"}, "client_message_rate: 100", "debug",
                        "max_streams_per_connection: 5000");
  const auto bad_line = 1 + std::count(bad.begin(), bad.begin() + static_cast<long>(bad.find("max_streams_per")), '\n');
  reload(bad);
  const auto out = relay_.process->output();
  EXPECT_NE(out.find("reload refused, running configuration kept"), std::string::npos) << out;
  EXPECT_NE(out.find("line=" + std::to_string(bad_line) + " key=upstreams[0].max_streams_per_connection"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("between 1 and 1024"), std::string::npos) << out;

  // A YAML syntax error, likewise.
  reload("upstreams:\n  - name: sim\n    streams: [btcusdt@aggTrade\n");
  EXPECT_NE(relay_.process->output().find("YAML syntax"), std::string::npos) << relay_.process->output();

  // Still the old configuration: btcusdt flows, ethusdt is not carried.
  ASSERT_TRUE(relay_.process->running());
  for (int i = 0; i < 20; ++i) {
    const auto m = client.read();
    ASSERT_TRUE(m) << "the running configuration stopped";
    EXPECT_EQ(symbol_of(*m), "BTCUSDT");
  }
  client.send(R"({"method":"SUBSCRIBE","params":["ethusdt@aggTrade"],"id":1})");
  const auto refused = response(client, "1");
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->find("not carried"), std::string::npos) << *refused;
  EXPECT_EQ(count(relay_.process->output(), "configuration applied"), 0u);

  // Fixed, it applies.
  reload(yaml({"btcusdt@aggTrade", "ethusdt@aggTrade"}, "client_message_rate: 100"));
  EXPECT_EQ(count(relay_.process->output(), "configuration applied"), 1u) << relay_.process->output();
  client.send(R"({"method":"SUBSCRIBE","params":["ethusdt@aggTrade"],"id":2})");
  EXPECT_EQ(response(client, "2"), std::optional<std::string>(R"({"result":null,"id":2})"));
  EXPECT_TRUE(client.read_until([](const std::string& m) { return !is_response(m) && symbol_of(m) == "ETHUSDT"; }));
  EXPECT_FALSE(client.closed());
}

TEST_F(ReloadTest, CaFileThatIsNotACertificateIsRefusedAndTheRunningUpstreamKeepsDelivering) {
  // A TLS upstream, verified against the test CA.
  const auto certs = make_test_certificates(dir_, {"localhost", "127.0.0.1"});
  sim_ = start_sim({"--rate", "600", "--symbols", "btcusdt,ethusdt"}, &certs);
  relay_.client_port = free_port();
  relay_.metrics_port = free_port();
  relay_.config_path = dir_.write("tickrelayd.yaml", yaml({"btcusdt@aggTrade"}, "client_message_rate: 100", "debug",
                                                          "tls: { ca_file: " + certs.ca_file + " }"));
  relay_.process = start_service(relay_.config_path, {notify_.env()});
  ASSERT_TRUE(notify_.wait_for("READY=1")) << relay_.process->output();
  WsTestClient client(relay_.ws_url("/ws/btcusdt@aggTrade"));
  ASSERT_TRUE(client.read());

  // The file exists and is readable, so the YAML validates; only building
  // the TLS context finds it is no certificate.
  const auto not_a_certificate = dir_.write("not-a-certificate.pem", "this is not a certificate\n");
  reload(yaml({"btcusdt@aggTrade", "ethusdt@aggTrade"}, "client_message_rate: 100", "debug",
              "tls: { ca_file: " + not_a_certificate + " }"));
  const auto out = relay_.process->output();
  EXPECT_NE(out.find("reload failed, running configuration kept"), std::string::npos) << out;
  EXPECT_EQ(count(out, "configuration applied"), 0u) << out;

  // Data keeps flowing on the connection that was there; nothing restarted.
  for (int i = 0; i < 50; ++i) {
    const auto m = client.read();
    ASSERT_TRUE(m) << "the running upstream stopped: " << relay_.process->output();
    EXPECT_EQ(symbol_of(*m), "BTCUSDT");
  }
  EXPECT_FALSE(client.closed());
  EXPECT_EQ(relay_.metric("tickrelay_upstream_connected"), 1);
  EXPECT_EQ(count(relay_.process->output(), "upstream starting upstream=sim"), 1u) << relay_.process->output();
  client.send(R"({"method":"SUBSCRIBE","params":["ethusdt@aggTrade"],"id":1})");
  const auto refused = response(client, "1");
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->find("not carried"), std::string::npos) << *refused;
}

// A certificate renewed in place (same paths, new files, as certbot and
// cert-manager do) is served to new clients after a reload; clients already
// connected keep their connection.
TEST_F(ReloadTest, CertificateRenewedInPlaceIsServedAfterReload) {
  const auto old_certs = make_test_certificates(dir_, {"localhost"}, "old");
  const auto new_certs = make_test_certificates(dir_, {"localhost"}, "new");
  const auto cert = dir_.write("relay-cert.pem", read_file(old_certs.cert_file));
  const auto key = dir_.write("relay-key.pem", read_file(old_certs.key_file));
  const std::string tls = "tls: { cert_file: " + cert + ", key_file: " + key + " }";
  start({"btcusdt@aggTrade"}, tls);
  const auto url = "wss://localhost:" + std::to_string(relay_.client_port) + "/ws/btcusdt@aggTrade";
  WsTestClient::Options trust_old;
  trust_old.ca_file = old_certs.ca_file;
  WsTestClient::Options trust_new;
  trust_new.ca_file = new_certs.ca_file;
  WsTestClient before(url, trust_old);
  ASSERT_TRUE(before.read());

  dir_.write("relay-cert.pem", read_file(new_certs.cert_file));
  dir_.write("relay-key.pem", read_file(new_certs.key_file));
  reload(yaml({"btcusdt@aggTrade"}, tls));

  WsTestClient after(url, trust_new);
  EXPECT_TRUE(after.read());
  EXPECT_THROW(WsTestClient(url, trust_old), std::runtime_error) << "the old certificate is still served";
  EXPECT_TRUE(before.read()) << "a connected client was dropped";
  EXPECT_FALSE(before.closed());
}

}  // namespace
}  // namespace tickrelay::test
