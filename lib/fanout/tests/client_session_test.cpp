// ClientSession over real loopback sockets: the listener, HTTP upgrade,
// registry and router are the real ones; the catalog is a fake.
#include <gtest/gtest.h>

#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/websocket/error.hpp>
#include <string>

#include "tickrelay/wire/ws_frame.hpp"

#include "session_harness.hpp"
#include "tickrelay/fanout/frame.hpp"

namespace tickrelay::fanout {
namespace {

using testing::SessionHarness;
using testing::TestClient;

constexpr std::string_view kTrade = R"({"e":"trade","E":1700000000000,"s":"BTCUSDT","t":1,"p":"1.0","q":"2.0"})";

FramePtr event(StreamId id, std::string_view name, std::string_view payload) {
  return Frame::from_payload(name, payload, id, 0, Clock::now());
}

constexpr std::string_view kUpgradeHead = "Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";
constexpr std::string_view kKeyAndVersion =
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

class ClientSessionTest : public SessionHarness {
 protected:
  // A raw client on its own context: sends `request` and returns the
  // response head the relay wrote (empty if it closed without one).
  std::string raw_handshake(tcp::socket& raw, const std::string& request) {
    raw.connect(listener_->local_endpoint());
    net::write(raw, net::buffer(request));
    std::string head;
    // The relay's loop runs here too: read what it writes as it writes.
    raw.non_blocking(true);
    for (int i = 0; i < 100000 && head.find("\r\n\r\n") == std::string::npos; ++i) {
      char buf[4096];
      error_code ec;
      const std::size_t n = raw.read_some(net::buffer(buf), ec);
      if (ec && ec != net::error::would_block) break;
      head.append(buf, n);
      ioc_.run_one_for(std::chrono::milliseconds(10));
    }
    raw.non_blocking(false);
    return head;
  }

  bool subscribed(StreamId id, std::size_t n = 1) {
    return run_until([&] { return router_.subscriber_count(id) == n; });
  }
  bool gone(const TestClient& client) {
    return run_until([&] { return client.ended && registry_->admitted() == 0; });
  }
};

TEST_F(ClientSessionTest, UrlStreamsAreSubscribedAndAPublishedFrameArrivesByteExact) {
  const auto trade = catalog_.add("btcusdt@trade");
  start();
  auto& raw = connect_open("/ws/btcusdt@trade");
  auto& combined = connect_open("/stream?streams=btcusdt@trade");
  ASSERT_TRUE(subscribed(trade, 2));
  EXPECT_EQ(counters_.clients_connected, 2u);

  router_.publish(event(trade, "btcusdt@trade", kTrade));
  ASSERT_TRUE(run_until([&] { return raw.messages.size() == 1 && combined.messages.size() == 1; }));
  EXPECT_EQ(raw.messages[0], kTrade);
  EXPECT_EQ(combined.messages[0], R"({"stream":"btcusdt@trade","data":)" + std::string(kTrade) + "}");
  EXPECT_TRUE(run_until([&] { return counters_.delivered_messages == 2; }));
  EXPECT_EQ(counters_.client_queue_bytes, 0u);
}

TEST_F(ClientSessionTest, SubscribeAndListSubscriptionsAreAnsweredInBinanceShape) {
  catalog_.add("btcusdt@trade");
  const auto eth = catalog_.add("ethusdt@trade");
  start();
  auto& client = connect_open("/ws/btcusdt@trade");
  client.send(R"({"method":"SUBSCRIBE","params":["ethusdt@trade"],"id":1})");
  client.send(R"({"method":"LIST_SUBSCRIPTIONS","id":2})");
  client.send(R"({"method":"SUBSCRIBE","params":["nosuch@trade"],"id":3})");
  ASSERT_TRUE(run_until([&] { return client.messages.size() == 3; }));
  EXPECT_EQ(client.messages[0], R"({"result":null,"id":1})");
  EXPECT_EQ(client.messages[1], R"({"result":["btcusdt@trade","ethusdt@trade"],"id":2})");
  EXPECT_NE(client.messages[2].find(R"({"error":{"code":2,)"), std::string::npos) << client.messages[2];
  EXPECT_NE(client.messages[2].find(R"("id":3})"), std::string::npos) << client.messages[2];
  EXPECT_EQ(router_.subscriber_count(eth), 1u);
  EXPECT_EQ(counters_.client_requests, 3u);

  // The new subscription carries frames too.
  router_.publish(event(eth, "ethusdt@trade", kTrade));
  ASSERT_TRUE(run_until([&] { return client.messages.size() == 4; }));
  EXPECT_EQ(client.messages[3], kTrade);
}

// ccxt opens /ws/<its connection counter> and then subscribes: the token
// carries nothing, is listed by nothing, and is no error.
TEST_F(ClientSessionTest, PathTokenThatIsNotAStreamNameIsIgnored) {
  const auto btc = catalog_.add("btcusdt@trade");
  start();
  auto& client = connect_open("/ws/0");
  client.send(R"({"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":1})");
  client.send(R"({"method":"LIST_SUBSCRIPTIONS","id":2})");
  ASSERT_TRUE(run_until([&] { return client.messages.size() == 2; }));
  EXPECT_EQ(client.messages[0], R"({"result":null,"id":1})");
  EXPECT_EQ(client.messages[1], R"({"result":["btcusdt@trade"],"id":2})");
  router_.publish(event(btc, "btcusdt@trade", kTrade));
  ASSERT_TRUE(run_until([&] { return client.messages.size() == 3; }));
  EXPECT_EQ(client.messages[2], kTrade);
  // A name that is a stream name but not carried is still reported.
  auto& other = connect_open("/ws/nosuch@trade");
  ASSERT_TRUE(run_until([&] { return other.messages.size() == 1; }));
  EXPECT_NE(other.messages[0].find(R"({"error":{"code":2,)"), std::string::npos) << other.messages[0];
}

// A stream the client's path does not carry is subscribed, listed, removed
// by UNSUBSCRIBE, and never delivers; the rest of the session is untouched.
TEST_F(ClientSessionTest, SilentStreamIsListedAndCarriesNothing) {
  const auto btc = catalog_.add("btcusdt@trade");
  catalog_.add_silent("btcusdt@kline_1h");
  catalog_.add_silent("ethusdt@kline_1h");
  start();
  auto& client = connect_open("/stream?streams=btcusdt@kline_1h/btcusdt@trade");
  client.send(R"({"method":"SUBSCRIBE","params":["ethusdt@kline_1h"],"id":1})");
  client.send(R"({"method":"LIST_SUBSCRIPTIONS","id":2})");
  client.send(R"({"method":"UNSUBSCRIBE","params":["btcusdt@kline_1h"],"id":3})");
  client.send(R"({"method":"LIST_SUBSCRIPTIONS","id":4})");
  ASSERT_TRUE(run_until([&] { return client.messages.size() == 4; }));
  EXPECT_EQ(client.messages[0], R"({"result":null,"id":1})");
  EXPECT_EQ(client.messages[1], R"({"result":["btcusdt@kline_1h","btcusdt@trade","ethusdt@kline_1h"],"id":2})");
  EXPECT_EQ(client.messages[2], R"({"result":null,"id":3})");
  EXPECT_EQ(client.messages[3], R"({"result":["btcusdt@trade","ethusdt@kline_1h"],"id":4})");
  router_.publish(event(btc, "btcusdt@trade", kTrade));
  ASSERT_TRUE(run_until([&] { return client.messages.size() == 5; }));
  EXPECT_NE(client.messages[4].find(R"("stream":"btcusdt@trade")"), std::string::npos) << client.messages[4];
  // Leaving unsubscribes what the router has, and only that.
  client.drop();
  ASSERT_TRUE(run_until([&] { return registry_->size() == 0; }));
  EXPECT_EQ(router_.subscriber_count(btc), 0u);
}

TEST_F(ClientSessionTest, ClientPastItsQueueBoundIsClosedWith1008AndCountedOnce) {
  config_.client_queue_bytes = 4096;
  const auto btc = catalog_.add("btcusdt@trade");
  const auto eth = catalog_.add("ethusdt@trade");
  start();
  auto& slow = connect_open("/ws/btcusdt@trade");
  auto& other = connect_open("/ws/ethusdt@trade");
  ASSERT_TRUE(subscribed(btc));
  ASSERT_TRUE(subscribed(eth));

  // One turn of the loop publishes five times the bound: nothing is written
  // in between, so the queue overflows, and goes on refusing frames until
  // the posted close runs.
  const std::string big = "\"" + std::string(1000, 'x') + "\"";
  for (int i = 0; i < 20; ++i) router_.publish(event(btc, "btcusdt@trade", big));
  EXPECT_GT(counters_.client_queue_bytes, 0u);
  router_.publish(event(eth, "ethusdt@trade", kTrade));

  ASSERT_TRUE(run_until([&] { return slow.ended && other.messages.size() == 1; }));
  EXPECT_EQ(slow.error, beast::websocket::error::closed) << slow.error.message();
  EXPECT_EQ(slow.close_code(), 1008);
  EXPECT_EQ(slow.close_text(), "slow consumer: send queue over limit");
  // Its backlog was freed, not sent: at most what fitted before the bound.
  EXPECT_LT(slow.messages.size(), 5u);
  ASSERT_TRUE(run_until([&] { return registry_->size() == 1; }));
  EXPECT_EQ(disconnects(DisconnectReason::slow_consumer), 1u);
  EXPECT_EQ(all_disconnects(), 1u);
  EXPECT_EQ(counters_.clients_connected, 1u);
  EXPECT_EQ(router_.subscriber_count(btc), 0u);
  EXPECT_EQ(counters_.client_queue_bytes, 0u);
  // The other client never noticed.
  EXPECT_FALSE(other.ended);
  EXPECT_EQ(other.messages[0], kTrade);
}

TEST_F(ClientSessionTest, SubscribeReadAfterASlowConsumerCloseLeavesNothingInTheRouter) {
  config_.client_queue_bytes = 4096;
  config_.handshake_timeout_seconds = 0.5;  // the closing handshake's bound
  const auto btc = catalog_.add("btcusdt@trade");
  const auto eth = catalog_.add("ethusdt@trade");
  start();
  // A client that never reads, driven by hand: the upgrade, then later one
  // SUBSCRIBE that arrives after the relay has closed it.
  net::io_context own;
  tcp::socket raw(own);
  raw.connect(listener_->local_endpoint());
  net::write(raw, net::buffer(std::string("GET /ws/btcusdt@trade HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                                          "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                          "Sec-WebSocket-Version: 13\r\n\r\n")));
  ASSERT_TRUE(subscribed(btc));
  std::string head;
  net::read_until(raw, net::dynamic_buffer(head), "\r\n\r\n");
  ASSERT_NE(head.find(" 101 "), std::string::npos) << head;

  // The first half of a SUBSCRIBE frame arrives and is taken in: the
  // session's read is now in the middle of a message.
  std::string subscribe;
  wire::append_client_frame(subscribe, wire::Opcode::text,
                            R"({"method":"SUBSCRIBE","params":["ethusdt@trade"],"id":1})", 0x12345678);
  const std::size_t half = subscribe.size() / 2;
  net::write(raw, net::buffer(subscribe.data(), half));
  for (int i = 0; i < 20; ++i) ioc_.poll();
  // Then it is closed as a slow consumer, and the rest of the frame comes.
  const std::string big = "\"" + std::string(1000, 'x') + "\"";
  for (int i = 0; i < 20; ++i) router_.publish(event(btc, "btcusdt@trade", big));
  ASSERT_TRUE(run_until([&] { return disconnects(DisconnectReason::slow_consumer) == 1; }));
  net::write(raw, net::buffer(subscribe.data() + half, subscribe.size() - half));
  // The closing handshake times out (the client never answers) and the
  // session is freed.
  ASSERT_TRUE(run_until([&] { return registry_->admitted() == 0; }));
  ASSERT_EQ(router_.subscriber_count(eth), 0u) << "a freed session is still subscribed";
  ASSERT_EQ(router_.subscriber_count(btc), 0u);
  router_.publish(event(eth, "ethusdt@trade", kTrade));  // reaches no one, frees nothing twice
  EXPECT_EQ(all_disconnects(), 1u);
}

TEST_F(ClientSessionTest, RequestsWhoseAnswersAreNeverReadCloseTheClientAtItsQueueBound) {
  config_.client_queue_bytes = 4096;
  config_.client_message_rate = 100000;  // the queue bound, not the rate, is under test
  config_.handshake_timeout_seconds = 0.5;
  config_.idle_ping_seconds = 3600;  // no sweep keeps the loop from running dry
  const auto btc = catalog_.add("btcusdt@trade");
  // A hundred long stream names: each LIST_SUBSCRIPTIONS answer is 3 KB.
  std::string path = "/stream?streams=";
  for (int i = 0; i < 100; ++i) {
    const auto name = "symbol" + std::to_string(1000 + i) + "usdt@kline_1h";
    catalog_.add(name);
    path += (i ? "/" : "") + name;
  }
  start();
  auto& bystander = connect_open("/ws/btcusdt@trade");
  // A client with a tiny window that never reads: the kernel takes a few
  // answers, the rest would stay queued in the relay.
  net::io_context own;
  tcp::socket raw(own);
  raw.open(tcp::v4());
  raw.set_option(net::socket_base::receive_buffer_size(1024));
  raw.connect(listener_->local_endpoint());
  net::write(raw,
             net::buffer("GET " + path + " HTTP/1.1\r\n" + std::string(kUpgradeHead) + std::string(kKeyAndVersion)));
  ASSERT_TRUE(run_until([&] { return registry_->size() == 2; }));
  std::string head;
  net::read_until(raw, net::dynamic_buffer(head), "\r\n\r\n");
  ASSERT_NE(head.find(" 101 "), std::string::npos) << head;
  const std::string request = R"({"method":"LIST_SUBSCRIPTIONS","id":1})";
  std::string frames;
  for (int i = 0; i < 1000; ++i) wire::append_client_frame(frames, wire::Opcode::text, request, 0x01020304);
  // Written as the relay takes it (this thread also runs the relay's loop).
  raw.non_blocking(true);
  std::size_t written = 0;
  for (int round = 0; round < 10000 && disconnects(DisconnectReason::slow_consumer) == 0 && written < frames.size();
       ++round) {
    error_code ec;
    written += raw.write_some(net::buffer(frames.data() + written, frames.size() - written), ec);
    ioc_.poll();
  }
  ASSERT_TRUE(run_until([&] { return disconnects(DisconnectReason::slow_consumer) == 1; }))
      << "queued for it: " << counters_.client_queue_bytes << " bytes";
  ASSERT_TRUE(run_until([&] { return registry_->size() == 1; }));
  EXPECT_EQ(counters_.client_queue_bytes, 0u);
  // The bystander never noticed.
  router_.publish(event(btc, "btcusdt@trade", kTrade));
  ASSERT_TRUE(run_until([&] { return bystander.messages.size() == 1; }));
  EXPECT_FALSE(bystander.ended);
}

// The library's own answers to a refused upgrade are written, not dropped
// with the session.
TEST_F(ClientSessionTest, RefusedUpgradesGetTheirHttpAnswer) {
  catalog_.add("btcusdt@trade");
  start();
  net::io_context own;
  tcp::socket wrong_version(own);
  const auto head = raw_handshake(wrong_version, "GET /ws/btcusdt@trade HTTP/1.1\r\n" + std::string(kUpgradeHead) +
                                                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                                     "Sec-WebSocket-Version: 8\r\n\r\n");
  EXPECT_NE(head.find("HTTP/1.1 426 "), std::string::npos) << head;
  EXPECT_NE(head.find("Sec-WebSocket-Version: 13"), std::string::npos) << head;
  tcp::socket no_key(own);
  const auto head2 = raw_handshake(no_key, "GET /ws/btcusdt@trade HTTP/1.1\r\n" + std::string(kUpgradeHead) +
                                               "Sec-WebSocket-Version: 13\r\n\r\n");
  EXPECT_NE(head2.find("HTTP/1.1 400 "), std::string::npos) << head2;
  ASSERT_TRUE(run_until([&] { return registry_->admitted() == 0; }));
  EXPECT_EQ(all_disconnects(), 0u);  // never connected, so never counted
  EXPECT_EQ(counters_.handshakes_refused[static_cast<std::size_t>(RefusalReason::bad_request)], 2u);
}

// Frames that never complete a message still cost their bytes: a flood of
// empty continuation frames is cut like a flood of messages.
TEST_F(ClientSessionTest, EmptyContinuationFloodIsClosedWith1008) {
  // Binance's rate, so the byte budget is 320 KiB/s: the harness's 1000 a
  // second would allow 64 MiB/s, more than a sanitized build even reads.
  config_.client_message_rate = 5;
  config_.handshake_timeout_seconds = 0.5;
  config_.idle_ping_seconds = 3600;
  const auto btc = catalog_.add("btcusdt@trade");
  start();
  auto& bystander = connect_open("/ws/btcusdt@trade");
  net::io_context own;
  tcp::socket raw(own);
  const auto head = raw_handshake(raw,
                                  "GET /ws HTTP/1.1\r\n" + std::string(kUpgradeHead) + std::string(kKeyAndVersion));
  ASSERT_NE(head.find(" 101 "), std::string::npos) << head;
  // A text frame without FIN and no payload, then empty continuations
  // (masked, as a client's must be), 6 bytes each.
  const char start_frame[] = {0x01, char(0x80), 1, 2, 3, 4};
  const char continuation[] = {0x00, char(0x80), 1, 2, 3, 4};
  net::write(raw, net::buffer(start_frame));
  std::string flood;
  for (int i = 0; i < 100000; ++i) flood.append(continuation, sizeof continuation);
  raw.non_blocking(true);
  std::size_t offset = 0;  // whole frames, so wrapping round keeps them whole
  std::uint64_t written = 0;
  for (int round = 0; round < 100000 && disconnects(DisconnectReason::rate_limit) == 0; ++round) {
    error_code ec;
    const std::size_t n = raw.write_some(net::buffer(flood.data() + offset, flood.size() - offset), ec);
    if (ec && ec != net::error::would_block) break;
    offset = (offset + n) % flood.size();
    written += n;
    ioc_.poll();
  }
  ASSERT_TRUE(run_until([&] { return disconnects(DisconnectReason::rate_limit) == 1; })) << "bytes sent: " << written;
  router_.publish(event(btc, "btcusdt@trade", kTrade));
  ASSERT_TRUE(run_until([&] { return bystander.messages.size() == 1; }));
  EXPECT_FALSE(bystander.ended);
  EXPECT_EQ(all_disconnects(), 1u);
}

// A session that ended with frames still to write (a close reply behind a
// full socket) does not wait for a client that never reads: it is cut off
// after the closing handshake's time.
TEST_F(ClientSessionTest, EndedSessionWhoseClientNeverReadsIsCutOff) {
  config_.handshake_timeout_seconds = 0.5;
  config_.idle_ping_seconds = 0.4;  // the sweep that enforces it runs every 0.1 s
  config_.max_client_lag_seconds = 3600;
  const auto btc = catalog_.add("btcusdt@trade");
  start();
  net::io_context own;
  tcp::socket raw(own);
  raw.open(tcp::v4());
  raw.set_option(net::socket_base::receive_buffer_size(1024));
  const auto head = raw_handshake(raw, "GET /ws/btcusdt@trade HTTP/1.1\r\n" + std::string(kUpgradeHead) +
                                           std::string(kKeyAndVersion));
  ASSERT_NE(head.find(" 101 "), std::string::npos) << head;
  ASSERT_TRUE(subscribed(btc));
  // Fill its socket, then close from the client's side; the relay's close
  // reply can never be written.
  const std::string big = "\"" + std::string(16000, 'x') + "\"";
  for (int i = 0; i < 200; ++i) {
    router_.publish(event(btc, "btcusdt@trade", big));
    ioc_.poll();
  }
  std::string close;
  wire::append_client_frame(close, wire::Opcode::close, std::string("\x03\xe8", 2), 0x01020304);
  net::write(raw, net::buffer(close));
  ASSERT_TRUE(run_until([&] { return disconnects(DisconnectReason::client_closed) == 1; }));
  // The sweep runs every 0.1 s: a few dozen of its turns are plenty.
  ASSERT_TRUE(run_until([&] { return registry_->size() == 0; }, 500)) << "an ended session keeps its socket";
  EXPECT_EQ(counters_.client_queue_bytes, 0u);
}

TEST_F(ClientSessionTest, ClientCloseIsAnsweredAndTheSessionEndsOnce) {
  const auto trade = catalog_.add("btcusdt@trade");
  start();
  auto& client = connect_open("/ws/btcusdt@trade");
  ASSERT_TRUE(subscribed(trade));
  client.close();
  ASSERT_TRUE(run_until([&] { return client.close_done && client.ended && registry_->admitted() == 0; }));
  // The close completed cleanly: the relay's close reply arrived.
  EXPECT_FALSE(client.close_error) << client.close_error.message();
  EXPECT_EQ(client.close_code(), 1000);
  EXPECT_EQ(disconnects(DisconnectReason::client_closed), 1u);
  EXPECT_EQ(all_disconnects(), 1u);
  EXPECT_EQ(counters_.clients_connected, 0u);
  EXPECT_EQ(router_.subscriber_count(trade), 0u);
  EXPECT_EQ(counters_.client_queue_bytes, 0u);
}

TEST_F(ClientSessionTest, ClientHangingUpIsCountedOnceAsClosed) {
  const auto trade = catalog_.add("btcusdt@trade");
  start();
  auto& client = connect_open("/ws/btcusdt@trade");
  ASSERT_TRUE(subscribed(trade));
  client.drop();
  ASSERT_TRUE(gone(client));
  EXPECT_EQ(disconnects(DisconnectReason::client_closed), 1u);
  EXPECT_EQ(all_disconnects(), 1u);
  EXPECT_EQ(router_.subscriber_count(trade), 0u);
}

TEST_F(ClientSessionTest, TooManyMessagesIsClosedWith1008) {
  config_.client_message_rate = 2;
  catalog_.add("btcusdt@trade");
  start();
  auto& client = connect_open("/ws/btcusdt@trade");
  for (int i = 0; i < 10; ++i) client.send(R"({"method":"LIST_SUBSCRIPTIONS","id":1})");
  ASSERT_TRUE(gone(client));
  EXPECT_EQ(client.close_code(), 1008);
  EXPECT_EQ(client.close_text(), "too many messages");
  EXPECT_EQ(disconnects(DisconnectReason::rate_limit), 1u);
  EXPECT_EQ(all_disconnects(), 1u);
  EXPECT_EQ(counters_.client_queue_bytes, 0u);
}

TEST_F(ClientSessionTest, OversizedMessageIsClosedWith1009) {
  config_.max_client_message_bytes = 1024;
  catalog_.add("btcusdt@trade");
  start();
  auto& client = connect_open("/ws/btcusdt@trade");
  client.send(std::string(2048, 'x'));
  ASSERT_TRUE(gone(client));
  EXPECT_EQ(client.close_code(), 1009);
  EXPECT_EQ(disconnects(DisconnectReason::message_too_big), 1u);
  EXPECT_EQ(all_disconnects(), 1u);
}

TEST_F(ClientSessionTest, RetiredStreamIsReportedAndUnsubscribed) {
  const auto trade = catalog_.add("btcusdt@trade");
  start();
  auto& client = connect_open("/ws/btcusdt@trade");
  ASSERT_TRUE(subscribed(trade));
  registry_->retire_stream(trade);
  ASSERT_TRUE(run_until([&] { return client.messages.size() == 1; }));
  EXPECT_NE(client.messages[0].find("is no longer carried by this relay"), std::string::npos) << client.messages[0];
  EXPECT_EQ(router_.subscriber_count(trade), 0u);
  EXPECT_FALSE(client.ended);
}

}  // namespace
}  // namespace tickrelay::fanout
