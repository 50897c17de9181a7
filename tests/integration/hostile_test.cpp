// Hostile clients against the real relay fed by the real simulator: each
// case runs one attacker (raw sockets, in its own thread) while a bystander
// keeps reading, then checks that the relay lives, the attacker was cut, the
// bystander missed no event and memory stayed bounded.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <limits>
#include <thread>

#include "fanout_clients.hpp"
#include "process_runner.hpp"
#include "programs.hpp"
#include "raw_client.hpp"
#include "sim_relay_test.hpp"
#include "ws_test_client.hpp"

namespace tickrelay::test {
namespace {

using namespace std::chrono_literals;
using wire::Opcode;
using Clock = std::chrono::steady_clock;

constexpr const char* kStream = "/ws/btcusdt@aggTrade";

// Runs an attack on its thread: a throw (a connect that fails) is a test
// failure, not std::terminate.
void guarded(const std::function<void()>& attack) {
  try {
    attack();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "attacker: " << e.what();
  }
}

class HostileTest : public SimRelayTest {
 protected:
  // A thousand raw clients and a bystander need more than the usual 1024
  // descriptors once the test's own files are counted.
  static void SetUpTestSuite() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < 8192 && limit.rlim_cur < limit.rlim_max) {
      limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, 8192);
      ::setrlimit(RLIMIT_NOFILE, &limit);
    }
  }

  void start(const std::string& server_extra, std::vector<std::string> sim_args = {"--rate", "1000"},
             const std::vector<std::string>& streams = {"btcusdt@aggTrade", "ethusdt@aggTrade"}) {
    start_sim_and_relay("btcusdt,ethusdt", std::move(sim_args), streams, server_extra);
  }

  // One client on btcusdt@aggTrade that must see every event throughout;
  // over wss:// when given the relay's CA (the relay serves only wss://
  // once it has a certificate).
  std::unique_ptr<FanoutClients> bystander(const std::string& ca_file = "") {
    const auto url = ca_file.empty() ? relay_.ws_url(kStream)
                                     : "wss://localhost:" + std::to_string(relay_.client_port) + kStream;
    auto clients = std::make_unique<FanoutClients>(url, 1, "a", ca_file);
    EXPECT_TRUE(clients->run_until_each_has(20, 30s));
    return clients;
  }

  // Runs `attack` on its own thread while this one keeps the bystander
  // reading; the attack bounds its own loops, so this ends when it does.
  static void while_reading(FanoutClients& bystander, const std::function<void()>& attack) {
    std::atomic<bool> done{false};
    std::thread attacker([&] {
      guarded(attack);
      done = true;
    });
    while (!done) bystander.run_until_each_has(std::numeric_limits<std::uint64_t>::max(), 50ms);
    attacker.join();
  }

  // The relay outlived the attack: running, healthy, the bystander got every
  // event up to `more` after the attack, and memory stayed under the bounds.
  void expect_survived(FanoutClients& bystander, double queue_bytes_bound, std::uint64_t more = 200) {
    ASSERT_TRUE(relay_.process->running()) << relay_.process->output();
    EXPECT_EQ(http_get(relay_.metrics_port, "/healthz").first, 200);
    const auto seen = bystander.tallies()[0].messages;
    EXPECT_TRUE(bystander.run_until_each_has(seen + more, 60s));
    expect_every_event(bystander);
    EXPECT_LE(relay_.metric("tickrelay_client_queue_bytes"), queue_bytes_bound);
#ifndef __SANITIZE_ADDRESS__
    // (Under AddressSanitizer the resident size is mostly its shadow memory
    // and the quarantine of freed blocks, not the relay's.)
    EXPECT_LT(relay_.metric("process_resident_memory_bytes"), 512 << 20);
#endif
  }

  // Every attacker's session is gone; the bystander read throughout.
  bool only_the_bystander_is_left(FanoutClients& bystander) const {
    return eventually(
        [&] {
          bystander.run_until_each_has(0, 20ms);
          return relay_.metric("tickrelay_clients_connected") == 1;
        },
        60s);
  }

  double disconnects(const std::string& reason) const {
    return std::max(0.0, relay_.metric("tickrelay_client_disconnects_total", "reason=\"" + reason + "\""));
  }

  // A raw client upgraded on `path`; fails the test if the relay refuses.
  RawClient upgraded(const std::string& path = "/ws") const {
    RawClient client(relay_.client_port);
    EXPECT_EQ(client.upgrade(path), 101) << client.response_head();
    return client;
  }
};

// A TLS 1.2 ClientHello, complete (one cipher suite, no extensions).
std::string client_hello() {
  std::string hello("\x16\x03\x01\x00\x2d\x01\x00\x00\x29\x03\x03", 11);
  hello.append(32, '\x42');
  hello.append("\x00\x00\x02\x00\x2f\x01\x00", 7);
  return hello;
}

TEST_F(HostileTest, SlowlorisPlainConnectionsAreCutByTheHandshakeDeadline) {
  start("handshake_timeout: 2s");
  auto watcher = bystander();
  std::size_t cut = 0;
  constexpr std::size_t kAttackers = 200;
  while_reading(*watcher, [&] {
    std::vector<RawClient> attackers;
    for (std::size_t i = 0; i < kAttackers; ++i) attackers.emplace_back(relay_.client_port);
    // One byte per connection every 100 ms: the request would take 15 s.
    const std::string request = upgrade_request(kStream, "X-Filler: " + std::string(100, 'x') + "\r\n");
    std::vector<bool> gone(kAttackers, false);
    for (std::size_t byte = 0; byte < request.size() && cut < kAttackers; ++byte) {
      for (std::size_t i = 0; i < kAttackers; ++i) {
        if (gone[i]) continue;
        if (!attackers[i].send(request.substr(byte, 1), 100ms) ||
            attackers[i].read_some(0ms) != RawClient::ReadResult::timeout) {
          gone[i] = true;
          ++cut;
        }
      }
      std::this_thread::sleep_for(100ms);
    }
  });
  EXPECT_EQ(cut, kAttackers);
  expect_survived(*watcher, 64 << 20);
}

TEST_F(HostileTest, SlowlorisTlsConnectionsAreCutByTheHandshakeDeadline) {
  const auto certs = make_test_certificates(dir_, {"localhost", "127.0.0.1"}, "relay");
  start("handshake_timeout: 2s\ntls: { cert_file: " + certs.cert_file + ", key_file: " + certs.key_file + " }");
  auto watcher = bystander(certs.ca_file);
  std::size_t cut = 0;
  constexpr std::size_t kAttackers = 100;
  while_reading(*watcher, [&] {
    std::vector<RawClient> attackers;
    const auto hello = client_hello();
    for (std::size_t i = 0; i < kAttackers; ++i) {
      attackers.emplace_back(relay_.client_port);
      // Half send nothing at all, half half a ClientHello.
      if (i % 2 == 1) attackers.back().send(hello.substr(0, hello.size() / 2));
    }
    for (auto& a : attackers) cut += a.read_until_closed(20s) ? 1 : 0;
  });
  EXPECT_EQ(cut, kAttackers);
  expect_survived(*watcher, 64 << 20);
}

TEST_F(HostileTest, FdExhaustionRefusesNewcomersAndRecoversWhenTheyLeave) {
  if (::access("/usr/bin/prlimit", X_OK) != 0) GTEST_SKIP() << "needs /usr/bin/prlimit (util-linux)";
#ifdef __SANITIZE_ADDRESS__
  // UndefinedBehaviorSanitizer checks a virtual call's object by writing it
  // to a pipe (its runtime's test that memory is readable): with no
  // descriptor left, pipe() fails and the check reports an "invalid vptr"
  // in boost::system::error_category and stops the relay. The sanitizers
  // cannot watch a process that has run out of descriptors; the normal
  // build runs this test.
  GTEST_SKIP() << "the sanitizers' runtime needs free descriptors of its own";
#endif
  sim_ = start_sim({"--rate", "1000", "--symbols", "btcusdt,ethusdt"});
  relay_ = start_relay(dir_, sim_upstream(sim_, {"btcusdt@aggTrade"}), "handshake_timeout: 60s", true,
                       {"/usr/bin/prlimit", "--nofile=64:64"});
  auto watcher = bystander();
  std::size_t upgraded_count = 0;
  constexpr std::size_t kAttackers = 150;
  std::vector<RawClient> attackers;
  while_reading(*watcher, [&] {
    for (std::size_t i = 0; i < kAttackers; ++i) {
      int error = 0;
      auto a = RawClient::try_connect(relay_.client_port, 2s, error);
      if (!a) break;  // the backlog is full too
      a->send(upgrade_request(kStream));
      attackers.push_back(std::move(*a));
    }
    // Collect what answers: at most as many as the relay has descriptors.
    std::this_thread::sleep_for(2s);
    for (auto& a : attackers) upgraded_count += a.read_response_head(20ms) == 101 ? 1 : 0;
  });
  EXPECT_LT(upgraded_count, kAttackers) << "64 descriptors cannot hold " << kAttackers << " clients";
  ASSERT_TRUE(relay_.process->running()) << relay_.process->output();
  EXPECT_NE(relay_.process->output().find("accept failed"), std::string::npos) << "the limit was never reached";
  while_reading(*watcher, [&] { attackers.clear(); });
  // Descriptors free again: newcomers connect and receive.
  ASSERT_TRUE(only_the_bystander_is_left(*watcher)) << relay_.process->output();
  FanoutClients newcomers(relay_.ws_url(kStream), 10, "a");
  EXPECT_TRUE(newcomers.run_until_each_has(50, 30s));
  for (const auto& t : newcomers.tallies()) EXPECT_GE(t.messages, 50u);
  expect_survived(*watcher, 64 << 20);
}

TEST_F(HostileTest, PingFloodIsClosedAsTooManyMessages) {
  start("");
  auto watcher = bystander();
  int code = 0;
  std::string reason;
  while_reading(*watcher, [&] {
    auto attacker = upgraded();
    const auto ping = RawClient::client_frame(Opcode::ping, "flood");
    std::string burst;
    for (int i = 0; i < 1000; ++i) burst += ping;
    for (int i = 0; i < 100 && attacker.send(burst, 1s); ++i) {
    }
    code = attacker.read_close_code();
    reason = attacker.close_reason();
  });
  EXPECT_EQ(code, 1008);
  EXPECT_EQ(reason, "too many messages");
  EXPECT_EQ(disconnects("rate_limit"), 1);
  expect_survived(*watcher, 64 << 20);
}

TEST_F(HostileTest, MassAbruptDisconnectOfManySubscribedClientsLeavesNoTrace) {
  std::vector<std::string> streams;
  std::string combined = "/stream?streams=";
  for (const char* symbol : {"btcusdt", "ethusdt"}) {
    for (const char* kind :
         {"aggTrade",  "markPrice@1s", "bookTicker", "markPrice", "miniTicker", "ticker",   "depth",
          "depth5",    "depth10",      "depth20",    "kline_1m",  "kline_3m",   "kline_5m", "kline_15m",
          "kline_30m", "kline_1h",     "kline_2h",   "kline_4h",  "kline_6h",   "kline_8h", "kline_12h",
          "kline_1d",  "kline_3d",     "kline_1w",   "kline_1M"}) {
      streams.push_back(std::string(symbol) + "@" + kind);
      combined += (streams.size() > 1 ? "/" : "") + streams.back();
    }
  }
  ASSERT_EQ(streams.size(), 50u);
  start("max_client_lag: 60s", {"--rate", "200"}, streams);
  auto watcher = bystander();
  constexpr std::size_t kClients = 500;
  std::size_t opened = 0;
  while_reading(*watcher, [&] {
    std::vector<RawClient> crowd;
    for (std::size_t i = 0; i < kClients; ++i) {
      RawClient c(relay_.client_port);
      if (c.upgrade(combined) == 101) ++opened;
      crowd.push_back(std::move(c));
    }
    // Every one vanishes at once, with a reset and no close frame.
    for (auto& c : crowd) c.reset();
  });
  EXPECT_EQ(opened, kClients);
  ASSERT_TRUE(only_the_bystander_is_left(*watcher)) << relay_.process->output();
  {
    FanoutClients second(relay_.ws_url(combined), kClients, "a");
    EXPECT_TRUE(second.run_until_each_has(5, 60s));
    for (const auto& t : second.tallies()) {
      EXPECT_GE(t.messages, 5u);
      EXPECT_FALSE(t.closed);
    }
    EXPECT_EQ(relay_.metric("tickrelay_clients_connected"), kClients + 1);
  }
  ASSERT_TRUE(only_the_bystander_is_left(*watcher)) << relay_.process->output();
  // 200 events a second over 50 streams: four a second on the bystander's.
  expect_survived(*watcher, 64 << 20, 20);
}

TEST_F(HostileTest, OversizedFramesAreClosed) {
  start("max_client_message_bytes: 1024");
  auto watcher = bystander();
  int too_big = 0;
  std::vector<int> huge_header;
  std::vector<bool> huge_cut;
  while_reading(*watcher, [&] {
    auto big = upgraded();
    big.send_frame(Opcode::text, std::string(4096, 'x'));
    too_big = big.read_close_code();
    // Headers announcing 2^63 - 1 bytes and 2^63 (a length RFC 6455 forbids:
    // its top bit must be 0), then a little payload.
    for (const char top : {'\x7f', '\x80'}) {
      auto liar = upgraded();
      std::string header = "\x81\xff";
      header += top;
      header.append(7, top == '\x7f' ? '\xff' : '\x00');
      header.append("\x01\x02\x03\x04", 4);
      liar.send(header + std::string(1000, 'y'));
      huge_header.push_back(liar.read_close_code());
      huge_cut.push_back(liar.read_until_closed());
    }
  });
  EXPECT_EQ(too_big, 1009);
  ASSERT_EQ(huge_header.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_TRUE(huge_header[i] == 1009 || huge_header[i] == 1002) << i << ": " << huge_header[i];
    EXPECT_TRUE(huge_cut[i]) << i;
  }
  expect_survived(*watcher, 64 << 20);
}

TEST_F(HostileTest, MalformedFramesAreClosedAsProtocolErrors) {
  start("");
  auto watcher = bystander();
  struct Case {
    const char* name;
    std::string bytes;
    int code;
  };
  std::vector<Case> cases = {
      {"unmasked frame", std::string("\x81\x02{}", 4), 1002},
      {"reserved opcode", RawClient::client_frame(static_cast<Opcode>(3), "x"), 1002},
      {"RSV1 set", RawClient::client_frame(Opcode::text, "{}", true, 0x40), 1002},
      {"fragmented ping", RawClient::client_frame(Opcode::ping, "x", false), 1002},
      {"continuation without start", RawClient::client_frame(Opcode::continuation, "x"), 1002},
      {"invalid UTF-8 text", RawClient::client_frame(Opcode::text, "\xff\xfe\xfd"), 1007},
  };
  std::vector<int> codes(cases.size(), 0);
  std::vector<bool> cut(cases.size(), false);
  while_reading(*watcher, [&] {
    for (std::size_t i = 0; i < cases.size(); ++i) {
      auto attacker = upgraded();
      attacker.send(cases[i].bytes);
      codes[i] = attacker.read_close_code();
      cut[i] = attacker.read_until_closed();
    }
  });
  for (std::size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(codes[i], cases[i].code) << cases[i].name;
    EXPECT_TRUE(cut[i]) << cases[i].name;
  }
  EXPECT_EQ(disconnects("protocol_error"), static_cast<double>(cases.size()));
  expect_survived(*watcher, 64 << 20);
}

TEST_F(HostileTest, BadHandshakesEachGetTheirHttpAnswerAndAreClosed) {
  start("");
  auto watcher = bystander();
  const std::string key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
  const std::string upgrade_headers = "Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";
  // A request of exactly `size` bytes: the upgrade padded with one header.
  auto padded = [&](std::size_t size) {
    const std::string bare = upgrade_request(kStream, "X-Pad: \r\n");
    return upgrade_request(kStream, "X-Pad: " + std::string(size - bare.size(), 'p') + "\r\n");
  };
  std::string many_streams = "/stream?streams=";
  for (int i = 0; i < 1025; ++i) many_streams += (i ? "/a" : "a") + std::to_string(i);
  struct Case {
    const char* name;
    std::string request;
    int status;  // 0: any answer or none, but closed
    std::string header = {};
  };
  std::vector<Case> cases = {
      {"garbage", std::string("\x16\x00\xff garbage \x01\r\n\r\n", 17), 0},
      {"POST", "POST /ws/btcusdt@aggTrade HTTP/1.1\r\n" + upgrade_headers + key + "Sec-WebSocket-Version: 13\r\n\r\n",
       426},
      {"HTTP/1.0",
       "GET /ws/btcusdt@aggTrade HTTP/1.0\r\n" + upgrade_headers + key + "Sec-WebSocket-Version: 13\r\n\r\n", 426},
      {"no Upgrade",
       "GET /ws/btcusdt@aggTrade HTTP/1.1\r\nHost: 127.0.0.1\r\n" + key + "Sec-WebSocket-Version: 13\r\n\r\n", 426},
      {"wrong version",
       "GET /ws/btcusdt@aggTrade HTTP/1.1\r\n" + upgrade_headers + key + "Sec-WebSocket-Version: 8\r\n\r\n", 426,
       "Sec-WebSocket-Version: 13"},
      {"no key", "GET /ws/btcusdt@aggTrade HTTP/1.1\r\n" + upgrade_headers + "Sec-WebSocket-Version: 13\r\n\r\n", 400},
      {"header over 16 KiB", upgrade_request(kStream, "X-Pad: " + std::string(17000, 'p') + "\r\n"), 431},
      {"request of 16385 bytes", padded(16385), 431},
      {"request of exactly 16384 bytes", padded(16384), 101},
      {"path too long", upgrade_request("/ws/" + std::string(12300, 'a')), 414},
      {"unknown path", upgrade_request("/nowhere"), 404},
      {"too many streams", upgrade_request(many_streams), 400},
  };
  std::vector<int> statuses(cases.size(), -1);
  std::vector<std::string> heads(cases.size());
  std::vector<bool> cut(cases.size(), false);
  while_reading(*watcher, [&] {
    for (std::size_t i = 0; i < cases.size(); ++i) {
      RawClient attacker(relay_.client_port);
      attacker.send(cases[i].request);
      statuses[i] = attacker.read_response_head();
      heads[i] = attacker.response_head();
      // Even the upgraded one leaves: the relay answers its close.
      if (statuses[i] == 101) attacker.send_frame(Opcode::close, "\x03\xe8");
      cut[i] = attacker.read_until_closed();
    }
  });
  for (std::size_t i = 0; i < cases.size(); ++i) {
    if (cases[i].status != 0) {
      EXPECT_EQ(statuses[i], cases[i].status) << cases[i].name << ": " << heads[i];
    }
    if (!cases[i].header.empty()) {
      EXPECT_NE(heads[i].find(cases[i].header), std::string::npos) << cases[i].name << ": " << heads[i];
    }
    EXPECT_TRUE(cut[i]) << cases[i].name;
  }
  // Every answer with an error status is counted as a refused handshake,
  // the library's own (wrong version, no key) included.
  const auto refused = std::count_if(cases.begin(), cases.end(), [](const auto& c) { return c.status >= 400; });
  EXPECT_EQ(relay_.metric("tickrelay_handshakes_refused_total"), static_cast<double>(refused));
  EXPECT_EQ(relay_.metric("tickrelay_clients_connected"), 1);
  expect_survived(*watcher, 64 << 20);
}

TEST_F(HostileTest, TlsClientHelloOnThePlainPortIsRefusedOrClosed) {
  start("");
  auto watcher = bystander();
  int status = -1;
  bool cut = false;
  while_reading(*watcher, [&] {
    RawClient attacker(relay_.client_port);
    attacker.send(client_hello());
    status = attacker.read_response_head();
    cut = attacker.read_until_closed();
  });
  EXPECT_TRUE(status == 0 || status == 400) << status;
  EXPECT_TRUE(cut);
  expect_survived(*watcher, 64 << 20);
}

TEST_F(HostileTest, PlainHttpOnTheTlsPortIsClosed) {
  const auto certs = make_test_certificates(dir_, {"localhost", "127.0.0.1"}, "relay");
  start("tls: { cert_file: " + certs.cert_file + ", key_file: " + certs.key_file + " }");
  auto watcher = bystander(certs.ca_file);
  bool cut = false;
  int status = -1;
  while_reading(*watcher, [&] {
    RawClient attacker(relay_.client_port);
    attacker.send(upgrade_request(kStream));
    status = http_status(attacker.buffer());
    cut = attacker.read_until_closed();
    status = http_status(attacker.buffer());
  });
  EXPECT_TRUE(cut);
  EXPECT_NE(status, 101);
  expect_survived(*watcher, 64 << 20);
}

TEST_F(HostileTest, HandshakesNamingThousandsOfStreamsAreRefusedCheaply) {
  start("");
  auto watcher = bystander();
  // Paths just under and just over max_path_bytes (12 KiB), each of unique
  // short names: thousands of them, past max_streams_per_client.
  auto path_of = [](std::size_t bytes, int salt) {
    std::string path = "/stream?streams=";
    for (int i = 0; path.size() < bytes; ++i)
      path += (i ? "/" : "") + std::string("s") + std::to_string(salt * 7919 + i);
    path.resize(bytes);
    return path;
  };
  std::size_t refused = 0;
  std::size_t sent = 0;
  std::vector<std::string> wrong;
  while_reading(*watcher, [&] {
    const auto begin = Clock::now();
    for (int i = 0; i < 250; ++i) {
      std::this_thread::sleep_until(begin + i * 20ms);  // 50 a second for 5 s
      RawClient attacker(relay_.client_port);
      attacker.send(upgrade_request(path_of(i % 2 ? 12288 : 12400, i)));
      ++sent;
      const int status = attacker.read_response_head();
      if (status == 400 || status == 414)
        ++refused;
      else
        wrong.push_back(std::to_string(status));
    }
  });
  EXPECT_EQ(refused, sent) << "other answers: " << ::testing::PrintToString(wrong);
  EXPECT_EQ(relay_.metric("tickrelay_handshakes_refused_total", "reason=\"bad_request\""), static_cast<double>(sent));
  expect_survived(*watcher, 64 << 20);
}

// Answers echo what the client sent, cut short: a client that sends huge
// bad requests and never reads the answers makes the relay hold a few
// hundred bytes per request, not the request's size.
TEST_F(HostileTest, ControlRepliesToHugeBadRequestsStaySmall) {
  start("");
  auto watcher = bystander();
  const std::string huge = R"({"method":")" + std::string(60000, 'A') + R"(","id":1})";
  std::optional<std::string> answer;
  double worst_queue = 0;
  while_reading(*watcher, [&] {
    {
      WsTestClient reader(relay_.ws_url("/ws"));
      reader.send(huge);
      answer = reader.read();
    }
    auto attacker = upgraded();
    attacker.shrink_receive_buffer();
    const auto request = RawClient::client_frame(Opcode::text, huge);
    for (int i = 0; i < 60; ++i) {  // 4 a second for 15 s, within the message rate
      if (!attacker.send(request, 2s)) break;
      worst_queue = std::max(worst_queue, relay_.metric("tickrelay_client_queue_bytes"));
      std::this_thread::sleep_for(250ms);
    }
  });
  ASSERT_TRUE(answer);
  EXPECT_LT(answer->size(), 400u) << *answer;
  EXPECT_NE(answer->find("unknown variant `AAAA"), std::string::npos) << *answer;
  EXPECT_LE(worst_queue, 60 * 400);
  expect_survived(*watcher, 60 * 400);
}

TEST_F(HostileTest, SubscribeSplitAroundASlowConsumerCloseLeavesTheRelayWhole) {
  // A busy stream fills the kernel's buffers and then the 16 KiB queue fast;
  // the lag bound is out of the way so that the byte bound is what closes.
  start("client_queue_bytes: 16KiB\nclient_message_rate: 100\nmax_client_lag: 60s", {"--rate", "5000"});
  auto watcher = bystander();
  bool closed_between = false;
  while_reading(*watcher, [&] {
    auto attacker = upgraded(kStream);
    attacker.shrink_receive_buffer();
    const auto subscribe = RawClient::client_frame(Opcode::text,
                                                   R"({"method":"SUBSCRIBE","params":["ethusdt@aggTrade"],"id":1})");
    attacker.send(subscribe.substr(0, subscribe.size() / 2));
    closed_between = eventually([&] { return disconnects("slow_consumer") >= 1; }, 30s);
    attacker.send(subscribe.substr(subscribe.size() / 2));
    std::this_thread::sleep_for(500ms);
  });
  EXPECT_TRUE(closed_between);
  expect_survived(*watcher, 64 << 20);
}

TEST_F(HostileTest, EmptyContinuationFloodIsClosedAsTooManyMessages) {
  start("");
  auto watcher = bystander();
  int code = 0;
  std::uint64_t frames = 0;
  while_reading(*watcher, [&] {
    auto attacker = upgraded();
    attacker.send(RawClient::client_frame(Opcode::text, "", false));
    const auto empty = RawClient::client_frame(Opcode::continuation, "", false);
    std::string burst;
    for (int i = 0; i < 10000; ++i) burst += empty;
    const auto until = Clock::now() + 5s;
    while (Clock::now() < until && frames < 50'000'000 && attacker.send(burst, 1s)) frames += 10000;
    code = attacker.read_close_code(5s);
  });
  EXPECT_EQ(code, 1008) << "after " << frames << " empty continuation frames";
  expect_survived(*watcher, 64 << 20);
}

TEST_F(HostileTest, EveryClosingClientGetsTheCloseReplyUnderLoad) {
  // 1000 events a second to every unread client: 16 MiB holds over a
  // minute of them, however slowly the crowd connects on a loaded machine.
  start("max_client_lag: 120s\nclient_queue_bytes: 16MiB", {"--rate", "1000"}, {"btcusdt@aggTrade"});
  auto watcher = bystander();
#ifdef __SANITIZE_ADDRESS__
  constexpr std::size_t kClients = 250;  // the sanitized relay takes each handshake several times slower
#else
  constexpr std::size_t kClients = 1000;
#endif
  std::vector<int> codes;
  while_reading(*watcher, [&] {
    std::vector<RawClient> crowd;
    for (std::size_t i = 0; i < kClients; ++i) crowd.push_back(upgraded(kStream));
    for (auto& c : crowd) c.send_frame(Opcode::close, "\x03\xe8");
    // Read every socket as it has data, until its close frame or its end.
    codes.assign(kClients, -2);
    std::size_t open = kClients;
    const auto until = Clock::now() + 60s;
    while (open > 0 && Clock::now() < until) {
      std::vector<pollfd> fds;
      std::vector<std::size_t> which;
      for (std::size_t i = 0; i < kClients; ++i) {
        if (codes[i] != -2) continue;
        fds.push_back({crowd[i].fd(), POLLIN, 0});
        which.push_back(i);
      }
      if (::poll(fds.data(), fds.size(), 100) <= 0) continue;
      for (std::size_t k = 0; k < fds.size(); ++k) {
        if (fds[k].revents == 0) continue;
        auto& c = crowd[which[k]];
        const int code = c.read_close_code(0ms);
        if (code != -2) {
          codes[which[k]] = code;
          --open;
        }
      }
    }
  });
  std::size_t replied = 0;
  std::vector<int> others;
  for (int code : codes) {
    if (code == 1000)
      ++replied;
    else
      others.push_back(code);
  }
  EXPECT_EQ(replied, kClients) << "codes other than 1000 (-1: TCP close without a close frame, -2: nothing): "
                               << ::testing::PrintToString(others);
  expect_survived(*watcher, 64 << 20);
}

TEST_F(HostileTest, HostileUpstreamFramesAreSkippedAndValidEventsAllArrive) {
  // Every third upstream frame is preceded by a hostile one, cycling through
  // each shape; the events themselves all arrive.
  start("", {"--rate", "1000", "--malformed-every", "3", "--malformed-between", "--malformed-kinds",
             "duplicate_data,binary_frame,deep_nesting,max_id,truncated_json,empty_frame"});
  auto watcher = bystander();
  const double early = relay_.metric("tickrelay_upstream_malformed_total");
  ASSERT_TRUE(watcher->run_until_each_has(watcher->tallies()[0].messages + 1000, 60s));
  EXPECT_GT(relay_.metric("tickrelay_upstream_malformed_total"), early);
  EXPECT_GT(early, 0);
  // Each hostile frame comes just before a real event, and a binary frame
  // carries that very event: were it forwarded, the real one would be
  // dropped as its duplicate (the bystander could not tell the difference).
  EXPECT_EQ(relay_.metric("tickrelay_upstream_duplicates_total"), 0);
  expect_survived(*watcher, 64 << 20);
}

// With subscribe_on_demand, one SUBSCRIBE of thousands of made-up names is
// refused by the per-connection cap before a single name is subscribed
// upstream.
TEST_F(HostileTest, OnDemandSubscribeOfThousandsOfNamesSubscribesNothingUpstream) {
  start("subscribe_on_demand: true\nmax_streams_per_client: 10");
  auto watcher = bystander();
  const double carried = relay_.metric("tickrelay_streams_carried");
  std::optional<std::string> answer;
  while_reading(*watcher, [&] {
    WsTestClient attacker(relay_.ws_url("/ws"));
    std::string request = R"({"method":"SUBSCRIBE","params":[)";
    for (int i = 0; i < 2000; ++i)
      request += (i ? ",\"" : "\"") + ("made" + std::to_string(i) + "usdt@aggTrade") + "\"";
    request += R"(],"id":1})";
    attacker.send(request);
    answer = attacker.read_until([](const std::string& m) { return m.find("\"id\"") != std::string::npos; });
  });
  ASSERT_TRUE(answer);
  EXPECT_NE(answer->find("too many streams: at most 10 per connection"), std::string::npos) << *answer;
  EXPECT_EQ(relay_.metric("tickrelay_streams_carried"), carried);
  expect_survived(*watcher, 64 << 20);
}

// Streams added on demand are bounded for all clients together, and those
// nobody wants any more are unsubscribed upstream and forgotten, which
// frees their place.
TEST_F(HostileTest, OnDemandStreamsAreBoundedAndForgottenOnceUnwanted) {
  start("subscribe_on_demand: true\nmax_on_demand_streams: 2\non_demand_idle: 1s");
  auto watcher = bystander();
  const double carried = relay_.metric("tickrelay_streams_carried");
  auto answer = [](WsTestClient& client, const std::string& request) {
    client.send(request);
    return client.read_until([](const std::string& m) { return m.find("\"id\"") != std::string::npos; })
        .value_or("(no answer)");
  };
  std::string first, over, later;
  while_reading(*watcher, [&] {
    {
      WsTestClient client(relay_.ws_url("/ws"));
      first = answer(client, R"({"method":"SUBSCRIBE","params":["made1usdt@aggTrade","made2usdt@aggTrade"],"id":1})");
      over = answer(client, R"({"method":"SUBSCRIBE","params":["made3usdt@aggTrade"],"id":2})");
      client.close();
    }
    // Nobody wants the two any more: they go, and a new name fits again.
    if (eventually([&] { return relay_.metric("tickrelay_streams_carried") == carried; }, 30s)) {
      WsTestClient client(relay_.ws_url("/ws"));
      later = answer(client, R"({"method":"SUBSCRIBE","params":["made3usdt@aggTrade"],"id":3})");
    }
  });
  EXPECT_EQ(first, R"({"result":null,"id":1})");
  EXPECT_NE(over.find("no more streams can be added on demand (at most 2)"), std::string::npos) << over;
  EXPECT_EQ(later, R"({"result":null,"id":3})");
  expect_survived(*watcher, 64 << 20);
}

}  // namespace
}  // namespace tickrelay::test
