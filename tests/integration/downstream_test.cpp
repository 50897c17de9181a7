// The relay's client side: Binance's protocol and every limit, with real
// clients over loopback. One slow, abusive or dead client never affects the
// others.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>

#include "fanout_clients.hpp"
#include "process_runner.hpp"
#include "programs.hpp"
#include "sim_relay_test.hpp"
#include "ws_test_client.hpp"

namespace tickrelay::test {
namespace {

namespace json = boost::json;

class DownstreamTest : public SimRelayTest {
 protected:
  void start(const std::string& server_extra = "", std::vector<std::string> sim_args = {"--rate", "1000"},
             const std::vector<std::string>& streams = {"btcusdt@aggTrade", "ethusdt@aggTrade"}) {
    start_sim_and_relay("btcusdt,ethusdt", std::move(sim_args), streams, server_extra);
  }
};

TEST_F(DownstreamTest, ThousandClientsEachReceiveEveryEvent) {
#ifdef __SANITIZE_ADDRESS__
  // The sanitized relay beside another test on two cores falls behind a
  // thousand readers by more than max_client_lag, and rightly cuts them.
  constexpr int kClients = 250;
#else
  constexpr int kClients = 1000;
#endif
  start("", {"--rate", "1000"}, {"btcusdt@aggTrade"});
  FanoutClients clients(relay_.ws_url("/ws/btcusdt@aggTrade"), kClients, "a");
  ASSERT_TRUE(clients.run_until_each_has(300, std::chrono::seconds(60)));
  expect_every_event(clients);
  EXPECT_EQ(relay_.metric("tickrelay_clients_connected"), kClients);
}

TEST_F(DownstreamTest, SlowConsumerIsClosedWhileFiftyOthersReceiveEverything) {
  start("client_queue_bytes: 64KiB\nhandshake_timeout: 60s", {"--rate", "5000"}, {"btcusdt@aggTrade"});
  WsTestClient slow(relay_.ws_url("/ws/btcusdt@aggTrade"));
  slow.stop_reading();
  FanoutClients others(relay_.ws_url("/ws/btcusdt@aggTrade"), 50, "a");
  ASSERT_TRUE(others.run_until_each_has(1000, std::chrono::seconds(60)));
  ASSERT_TRUE(eventually([&] {
    others.run_until_each_has(0, std::chrono::milliseconds(10));
    return relay_.metric("tickrelay_client_disconnects_total", "reason=\"slow_consumer\"") == 1;
  }));
  // The slow client, reading at last, finds the relay's close 1008 behind
  // what the kernel had already taken (a client that does not read it
  // within the closing-handshake timeout is cut off without it).
  slow.resume_reading();
  for (int i = 0; i < 200000 && slow.read(std::chrono::seconds(5)); ++i) {
  }
  EXPECT_TRUE(slow.closed());
  EXPECT_EQ(slow.close_code(), 1008);
  EXPECT_NE(slow.close_reason().find("slow consumer"), std::string::npos);
  ASSERT_TRUE(others.run_until_each_has(others.tallies()[0].messages + 2000, std::chrono::seconds(60)));
  expect_every_event(others);
  // Bounded: what is queued never passes the per-client bound times clients.
  EXPECT_LE(relay_.metric("tickrelay_client_queue_bytes"), 51 * 64 * 1024);
#ifndef __SANITIZE_ADDRESS__
  // (Under AddressSanitizer the resident size is mostly its shadow memory and
  // the quarantine of freed blocks, not the relay's.)
  EXPECT_LT(relay_.metric("process_resident_memory_bytes"), 256 << 20);
#endif
}

TEST_F(DownstreamTest, ClientPastTheMessageRateIsClosedOthersUnaffected) {
  start();
  WsTestClient abuser(relay_.ws_url("/ws"));
  WsTestClient bystander(relay_.ws_url("/ws/btcusdt@aggTrade"));
  for (int i = 0; i < 20; ++i) abuser.send(R"({"method":"LIST_SUBSCRIPTIONS","id":)" + std::to_string(i) + "}");
  for (int i = 0; i < 100 && abuser.read(std::chrono::seconds(5)); ++i) {
  }
  EXPECT_TRUE(abuser.closed());
  EXPECT_EQ(abuser.close_code(), 1008);
  EXPECT_EQ(abuser.close_reason(), "too many messages");
  EXPECT_TRUE(bystander.read());
  EXPECT_EQ(relay_.metric("tickrelay_client_disconnects_total", "reason=\"rate_limit\""), 1);
}

TEST_F(DownstreamTest, BadRequestsGetBinanceAnswersAndTheConnectionStaysUsable) {
  start("client_message_rate: 100\nmax_streams_per_client: 2", {"--rate", "1000"},
        {"btcusdt@aggTrade", "ethusdt@aggTrade", "btcusdt@kline_1h"});
  WsTestClient client(relay_.ws_url("/ws"));
  WsTestClient bystander(relay_.ws_url("/ws/btcusdt@aggTrade"));
  auto answer = [&](const std::string& request) {
    client.send(request);
    return client.read_until([](const std::string& m) { return m.find("\"id\"") != std::string::npos; });
  };
  EXPECT_EQ(answer("{not json"),
            std::optional<std::string>(
                R"({"error":{"code":3,"msg":"Invalid JSON: expected value at line 1 column 2"},"id":null})"));
  const auto wrong = answer(R"({"method":"SUBSCRIB","params":[],"id":7})");
  ASSERT_TRUE(wrong);
  EXPECT_NE(wrong->find(R"("code":2,"msg":"Invalid request: unknown variant `SUBSCRIB`)"), std::string::npos) << *wrong;
  EXPECT_NE(wrong->find(R"("id":7)"), std::string::npos);
  EXPECT_EQ(answer(R"({"method":"SET_PROPERTY","params":["combined","yes"],"id":8})"),
            std::optional<std::string>(R"({"error":{"code":1,"msg":"Invalid value type: expected Boolean"},"id":8})"));
  EXPECT_EQ(answer(R"({"method":"GET_PROPERTY","params":["colour"],"id":9})"),
            std::optional<std::string>(R"({"error":{"code":0,"msg":"Unknown property"},"id":9})"));
  const auto cap = answer(
      R"({"method":"SUBSCRIBE","params":["btcusdt@aggTrade","ethusdt@aggTrade","btcusdt@kline_1h"],"id":10})");
  ASSERT_TRUE(cap);
  EXPECT_NE(cap->find(R"("code":2)"), std::string::npos) << *cap;
  EXPECT_EQ(answer(R"({"method":"SUBSCRIBE","params":["btcusdt@aggTrade","ethusdt@aggTrade"],"id":11})"),
            std::optional<std::string>(R"({"result":null,"id":11})"));
  const auto over = answer(R"({"method":"SUBSCRIBE","params":["btcusdt@kline_1h"],"id":12})");
  ASSERT_TRUE(over);
  EXPECT_NE(over->find("too many streams: at most 2"), std::string::npos) << *over;
  EXPECT_EQ(answer(R"({"method":"LIST_SUBSCRIPTIONS","id":13})"),
            std::optional<std::string>(R"({"result":["btcusdt@aggTrade","ethusdt@aggTrade"],"id":13})"));
  EXPECT_FALSE(client.closed());
  EXPECT_TRUE(bystander.read());
}

TEST_F(DownstreamTest, OversizedMessageIsRefusedWithCloseCode1009) {
  start("max_client_message_bytes: 1024");
  WsTestClient client(relay_.ws_url("/ws"));
  WsTestClient bystander(relay_.ws_url("/ws/btcusdt@aggTrade"));
  client.send(std::string(4096, 'x'));
  EXPECT_FALSE(client.read());
  EXPECT_TRUE(client.closed());
  EXPECT_EQ(client.close_code(), 1009);
  EXPECT_TRUE(bystander.read());
  EXPECT_EQ(relay_.metric("tickrelay_client_disconnects_total", "reason=\"message_too_big\""), 1);
}

TEST_F(DownstreamTest, ClientCountLimitsRefuseTheHandshake) {
  start("max_clients: 3");
  std::vector<std::unique_ptr<WsTestClient>> clients;
  for (int i = 0; i < 3; ++i) clients.push_back(std::make_unique<WsTestClient>(relay_.ws_url("/ws/btcusdt@aggTrade")));
  EXPECT_EQ(handshake_status(relay_.ws_url("/ws/btcusdt@aggTrade")), 503);
  clients.pop_back();
  ASSERT_TRUE(eventually([&] { return relay_.metric("tickrelay_clients_connected") == 2; }));
  EXPECT_EQ(handshake_status(relay_.ws_url("/ws/btcusdt@aggTrade")), 101);
}

TEST_F(DownstreamTest, PerAddressLimitAnswers429) {
  start("max_clients_per_ip: 2");
  WsTestClient a(relay_.ws_url("/ws/btcusdt@aggTrade"));
  WsTestClient b(relay_.ws_url("/ws/btcusdt@aggTrade"));
  EXPECT_EQ(handshake_status(relay_.ws_url("/ws/btcusdt@aggTrade")), 429);
  EXPECT_EQ(relay_.metric("tickrelay_handshakes_refused_total", "reason=\"max_clients_per_ip\""), 1);
}

TEST_F(DownstreamTest, AccessTokenIsRequiredWhenConfigured) {
  start("auth_token: \"s3cret-token\"");
  EXPECT_EQ(handshake_status(relay_.ws_url("/ws/btcusdt@aggTrade")), 401);
  EXPECT_EQ(handshake_status(relay_.ws_url("/ws/btcusdt@aggTrade?token=wrong-token!")), 401);
  EXPECT_EQ(handshake_status(relay_.ws_url("/ws/btcusdt@aggTrade"), "Bearer s3cret-tokeX"), 401);
  EXPECT_EQ(handshake_status(relay_.ws_url("/ws/btcusdt@aggTrade?token=s3cret-token")), 101);
  WsTestClient::Options options;
  options.authorization = "Bearer s3cret-token";
  WsTestClient client(relay_.ws_url("/ws/btcusdt@aggTrade"), options);
  EXPECT_TRUE(client.read());
}

TEST_F(DownstreamTest, WssWorksWithAGeneratedCertificate) {
  const auto certs = make_test_certificates(dir_, {"localhost", "127.0.0.1"}, "relay");
  start("tls: { cert_file: " + certs.cert_file + ", key_file: " + certs.key_file + " }");
  WsTestClient::Options options;
  options.ca_file = certs.ca_file;
  WsTestClient client("wss://localhost:" + std::to_string(relay_.client_port) + "/stream?streams=btcusdt@aggTrade",
                      options);
  const auto m = client.read();
  ASSERT_TRUE(m);
  EXPECT_EQ(json::parse(*m).at("stream").as_string(), "btcusdt@aggTrade");
}

TEST_F(DownstreamTest, SigtermClosesEveryClientWith1001AndExitsZero) {
  start();
  std::vector<std::unique_ptr<WsTestClient>> clients;
  for (int i = 0; i < 5; ++i) clients.push_back(std::make_unique<WsTestClient>(relay_.ws_url("/ws/btcusdt@aggTrade")));
  for (auto& c : clients) ASSERT_TRUE(c->read());
  relay_.process->signal(SIGTERM);
  for (auto& c : clients) {
    for (int i = 0; i < 100000 && c->read(std::chrono::seconds(5)); ++i) {
    }
    EXPECT_TRUE(c->closed());
    EXPECT_EQ(c->close_code(), 1001);
  }
  EXPECT_EQ(relay_.process->wait(std::chrono::seconds(20)), 0);
}

TEST_F(DownstreamTest, StateStreamsReplayTheirLastValueTradesDoNot) {
  // One event a second over two streams: each stream changes every 2 s, so a
  // replayed kline is recognisably the one already seen.
  start("client_message_rate: 100", {"--rate", "1"}, {"btcusdt@kline_1h", "btcusdt@aggTrade"});
  WsTestClient watcher(relay_.ws_url("/ws/btcusdt@kline_1h/btcusdt@aggTrade"));
  std::string last_kline;
  std::int64_t last_agg = -1;
  while (last_kline.empty() || last_agg < 0) {
    const auto m = watcher.read(std::chrono::seconds(10));
    ASSERT_TRUE(m);
    const auto v = json::parse(*m);
    if (v.at("e").as_string() == "kline")
      last_kline = *m;
    else
      last_agg = v.at("a").as_int64();
  }
  WsTestClient late(relay_.ws_url("/ws"));
  late.send(R"({"method":"SUBSCRIBE","params":["btcusdt@aggTrade","btcusdt@kline_1h"],"id":1})");
  EXPECT_EQ(late.read(), std::optional<std::string>(R"({"result":null,"id":1})"));
  const auto first = late.read();
  ASSERT_TRUE(first);
  while (auto newer = watcher.read(std::chrono::milliseconds(0))) {
    const auto v = json::parse(*newer);
    if (v.at("e").as_string() == "kline") last_kline = *newer;
  }
  EXPECT_EQ(*first, last_kline) << "the late subscriber gets the latest kline at once";
  // The trade stream was not replayed: the next trade it sees is new.
  const auto trade = late.read_until([](const std::string& m) { return m.find("\"aggTrade\"") != std::string::npos; },
                                     std::chrono::seconds(15));
  ASSERT_TRUE(trade);
  EXPECT_GT(json::parse(*trade).at("a").as_int64(), last_agg);
}

}  // namespace
}  // namespace tickrelay::test
