// How the relay writes to its clients: all the messages of one upstream read
// leave in one gathered write per client, and a client that falls further
// behind than max_client_lag is closed while the others keep every event.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "fanout_clients.hpp"
#include "process_runner.hpp"
#include "programs.hpp"
#include "sim_relay_test.hpp"
#include "tickrelay/wire/ws_frame.hpp"
#include "ws_test_client.hpp"

namespace tickrelay::test {
namespace {

namespace net = boost::asio;
namespace websocket = boost::beast::websocket;
using tcp = net::ip::tcp;

// An upstream that sends `count` combined aggTrade events in one TCP write
// when told to: one upstream read for the relay.
class BurstUpstream {
 public:
  explicit BurstUpstream(std::size_t count) : acceptor_(ioc_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
    std::int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
    for (std::size_t i = 0; i < count; ++i) {
      const std::string event = R"({"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":)" + std::to_string(now_us) +
                                R"(,"s":"BTCUSDT","a":)" + std::to_string(1000 + i) +
                                R"(,"p":"97000.10","q":"0.010","f":1,"l":1,"T":)" + std::to_string(now_us) +
                                R"(,"m":true}})";
      char header[10];
      burst_.append(header, wire::write_frame_header(header, event.size()));
      burst_ += event;
    }
    thread_ = std::thread([this] { serve(); });
  }
  ~BurstUpstream() {
    if (!sent_) go_.set_value();
    error_code ignored;
    net::post(ioc_, [this] {
      error_code e;
      acceptor_.close(e);
      if (socket_) socket_->close(e);
    });
    thread_.join();
  }

  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  void send_burst() {
    sent_ = true;
    go_.set_value();
  }

 private:
  using error_code = boost::system::error_code;

  void serve() {
    error_code ec;
    tcp::socket socket(ioc_);
    acceptor_.accept(socket, ec);
    if (ec) return;
    websocket::stream<tcp::socket> ws(std::move(socket));
    ws.accept(ec);
    if (ec) return;
    socket_ = &ws.next_layer();
    go_.get_future().wait();
    net::write(ws.next_layer(), net::buffer(burst_), ec);
    // Keep the connection until the relay goes (or the test ends).
    boost::beast::flat_buffer buffer;
    while (!ec) ws.read(buffer, ec), buffer.clear();
  }

  net::io_context ioc_;
  tcp::acceptor acceptor_;
  tcp::socket* socket_ = nullptr;
  std::string burst_;
  std::promise<void> go_;
  bool sent_ = false;
  std::thread thread_;
};

TEST(FanoutBatching, OneUpstreamReadReachesAClientInOneWrite) {
  constexpr std::size_t kEvents = 200;
  TempDir dir;
  BurstUpstream upstream(kEvents);
  const std::string upstreams = "upstreams:\n  - name: burst\n    url: ws://127.0.0.1:" +
                                std::to_string(upstream.port()) +
                                "\n    product: usdm-futures\n    time_unit: microsecond\n"
                                "    streams: [\"btcusdt@aggTrade\"]\n";
  Relay relay = start_relay(dir, upstreams);
  ASSERT_TRUE(relay.process->running());

  // A plain client that counts its TCP reads: the upgrade by hand, then
  // frames decoded from whatever each recv() returns.
  net::io_context ioc;
  tcp::socket client(ioc);
  client.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), relay.client_port));
  const std::string upgrade =
      "GET /ws/btcusdt@aggTrade HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  net::write(client, net::buffer(upgrade));
  std::string received;
  const std::size_t head_end = net::read_until(client, net::dynamic_buffer(received), "\r\n\r\n");
  ASSERT_NE(received.find(" 101 "), std::string::npos) << received;
  received.erase(0, head_end);
  ASSERT_TRUE(eventually([&] { return relay.metric("tickrelay_clients_connected") == 1; }));

  timeval timeout{10, 0};
  ASSERT_EQ(setsockopt(client.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout), 0);
  upstream.send_burst();
  std::size_t reads = 0;
  std::size_t frames = 0;
  std::vector<char> chunk(1 << 20);
  while (frames < kEvents) {
    const ssize_t n = ::recv(client.native_handle(), chunk.data(), chunk.size(), 0);
    ASSERT_GT(n, 0) << "after " << frames << " frames in " << reads << " reads";
    ++reads;
    received.append(chunk.data(), static_cast<std::size_t>(n));
    while (true) {
      wire::FrameHeader header;
      std::uint64_t needed = 0;
      const auto status = wire::decode_frame(reinterpret_cast<const std::uint8_t*>(received.data()), received.size(),
                                             header, needed);
      if (status != wire::FrameStatus::complete) {
        ASSERT_NE(status, wire::FrameStatus::invalid);
        break;
      }
      EXPECT_EQ(header.opcode, wire::Opcode::text);
      ++frames;
      received.erase(0, header.header_size + header.payload_size);
    }
  }
  EXPECT_EQ(frames, kEvents);
  // One upstream read, one write: the client's first read has them all,
  // or nearly (a second read only if the kernel split the write).
  EXPECT_LE(reads, 2u) << kEvents << " frames came in " << reads << " reads";
  EXPECT_EQ(relay.metric("tickrelay_delivered_messages_total"), static_cast<double>(kEvents));
  // And the relay's side of it: the burst left in one sendmsg (two if the
  // upstream bytes came in two reads), not one per message or per few.
  EXPECT_GE(relay.metric("tickrelay_client_writes_total"), 1);
  EXPECT_LE(relay.metric("tickrelay_client_writes_total"), 2);
}

class LagBoundTest : public SimRelayTest {};

TEST_F(LagBoundTest, LaggingClientIsClosedWithItsReasonWhileOthersGetEveryEvent) {
  // The byte bound is far away (32 MiB is seconds of this stream): only the
  // lag bound can close the stalled client.
  start_sim_and_relay("btcusdt", {"--rate", "1000"}, {"btcusdt@aggTrade"},
                      "client_queue_bytes: 32MiB\nmax_client_lag: 300ms\nhandshake_timeout: 60s");
  WsTestClient slow(relay_.ws_url("/ws/btcusdt@aggTrade"));
  slow.stop_reading();
  FanoutClients others(relay_.ws_url("/ws/btcusdt@aggTrade"), 20, "a");
  ASSERT_TRUE(others.run_until_each_has(500, std::chrono::seconds(60)));
  ASSERT_TRUE(eventually(
      [&] {
        others.run_until_each_has(0, std::chrono::milliseconds(10));
        return relay_.metric("tickrelay_client_disconnects_total", "reason=\"lagging\"") == 1;
      },
      std::chrono::seconds(60)));
  // Its window opens again now, so the kernel takes the rest of its backlog
  // (at TCP's zero-window probe pace) while the others are checked.
  slow.resume_reading();
  // The others go on with every event, and only the stalled client was cut.
  ASSERT_TRUE(others.run_until_each_has(others.tallies()[0].messages + 1000, std::chrono::seconds(60)));
  expect_every_event(others);
  EXPECT_EQ(relay_.metric("tickrelay_client_disconnects_total", "reason=\"lagging\""), 1);
  EXPECT_EQ(relay_.metric("tickrelay_client_disconnects_total", "reason=\"slow_consumer\""), 0);
  // Closed well inside the byte bound: its backlog was freed.
  EXPECT_LT(relay_.metric("tickrelay_client_queue_bytes"), 1 << 20);
  // The stalled client, reading at last, finds close 1008 behind what the
  // kernel had already taken.
  int got = 0;
  for (int i = 0; i < 200000 && slow.read(std::chrono::seconds(30)); ++i) ++got;
  EXPECT_TRUE(slow.closed()) << got << " messages read";
  EXPECT_EQ(slow.close_code(), 1008);
  EXPECT_NE(slow.close_reason().find("lagging"), std::string::npos) << slow.close_reason();
  EXPECT_GT(relay_.metric("tickrelay_client_lag_seconds_count"), 0);
}

TEST_F(LagBoundTest, ClientListOnTheMetricsPortShowsWhoLagsFirstAndIsBounded) {
  start_sim_and_relay("btcusdt,ethusdt", {"--rate", "4000"}, {"btcusdt@aggTrade", "ethusdt@aggTrade"},
                      "client_queue_bytes: 32MiB\nmax_client_lag: 60s");
  WsTestClient both(relay_.ws_url("/stream?streams=btcusdt@aggTrade/ethusdt@aggTrade"));
  WsTestClient one(relay_.ws_url("/ws/btcusdt@aggTrade"));
  WsTestClient stalled(relay_.ws_url("/ws/ethusdt@aggTrade/btcusdt@aggTrade"));
  stalled.stop_reading();
  ASSERT_TRUE(both.read());
  ASSERT_TRUE(one.read());
  namespace json = boost::json;
  json::value list;
  // The stalled client's queue ages while the others are read.
  ASSERT_TRUE(eventually(
      [&] {
        for (int i = 0; i < 5000 && both.read(std::chrono::milliseconds(1)); ++i) {
        }
        for (int i = 0; i < 5000 && one.read(std::chrono::milliseconds(1)); ++i) {
        }
        const auto [status, body] = http_get(relay_.metrics_port, "/clients?limit=2");
        if (status != 200) return false;
        list = json::parse(body);
        const auto& first = list.at("clients").as_array().at(0).as_object();
        return first.at("oldest_queued_seconds").to_number<double>() > 0.2;
      },
      std::chrono::seconds(60)))
      << json::serialize(list);
  EXPECT_EQ(list.at("connected").to_number<int>(), 3);
  EXPECT_EQ(list.at("listed").to_number<int>(), 2);
  const auto& clients = list.at("clients").as_array();
  ASSERT_EQ(clients.size(), 2u);
  const auto& first = clients.at(0).as_object();
  EXPECT_EQ(first.at("streams").as_array(), json::array({"ethusdt@aggTrade", "btcusdt@aggTrade"}));
  EXPECT_GT(first.at("queued_bytes").to_number<double>(), 0);
  EXPECT_TRUE(first.at("open").as_bool());
  EXPECT_NE(first.at("peer").as_string().find("127.0.0.1:"), json::string::npos);
  EXPECT_GT(first.at("connected_at_ms").to_number<double>(), 1.7e12);
  // The default lists all three, each with its streams and what it was sent.
  const auto [status, body] = http_get(relay_.metrics_port, "/clients");
  ASSERT_EQ(status, 200);
  const auto all = json::parse(body);
  ASSERT_EQ(all.at("clients").as_array().size(), 3u);
  std::vector<int> stream_counts;
  for (const auto& c : all.at("clients").as_array()) {
    stream_counts.push_back(c.at("stream_count").to_number<int>());
    EXPECT_GT(c.at("messages_sent").to_number<double>(), 0);
  }
  std::sort(stream_counts.begin(), stream_counts.end());
  EXPECT_EQ(stream_counts, (std::vector<int>{1, 2, 2}));
}

TEST_F(LagBoundTest, SilentClientIsPingedThenDroppedWhileOneThatAnswersStays) {
  start_sim_and_relay("btcusdt", {"--rate", "20"}, {"btcusdt@aggTrade"}, "idle_ping: 300ms");
  WsTestClient silent(relay_.ws_url("/ws/btcusdt@aggTrade"));
  WsTestClient answering(relay_.ws_url("/ws/btcusdt@aggTrade"));
  // The answering client reads (and so answers pings) for well past twice
  // idle_ping; the silent one reads nothing meanwhile.
  ASSERT_TRUE(eventually(
      [&] {
        answering.read(std::chrono::milliseconds(50));
        return relay_.metric("tickrelay_client_disconnects_total", "reason=\"idle_timeout\"") == 1;
      },
      std::chrono::seconds(30)));
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (std::chrono::steady_clock::now() < until) answering.read(std::chrono::milliseconds(50));
  EXPECT_FALSE(answering.closed());
  EXPECT_TRUE(answering.read());
  EXPECT_EQ(relay_.metric("tickrelay_client_disconnects_total", "reason=\"idle_timeout\""), 1);
  for (int i = 0; i < 1000 && silent.read(std::chrono::seconds(5)); ++i) {
  }
  EXPECT_TRUE(silent.closed());
  EXPECT_EQ(relay_.metric("tickrelay_clients_connected"), 1);
}

}  // namespace
}  // namespace tickrelay::test
