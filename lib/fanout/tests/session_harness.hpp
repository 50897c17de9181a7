#pragma once
// A fan-out server and WebSocket clients in one io_context, over real
// loopback sockets: the listener on 127.0.0.1:0, the real registry, router
// and sessions, a fake catalog. Tests run the loop until a condition holds
// (or a bounded number of handlers has run), never for a time.
#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/null_sink.h>

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tickrelay/fanout/client_registry.hpp"
#include "tickrelay/fanout/listener.hpp"
#include "tickrelay/fanout/relay_counters.hpp"
#include "tickrelay/fanout/router.hpp"
#include "tickrelay/fanout/server_config.hpp"
#include "tickrelay/fanout/stream_catalog.hpp"
#include "tickrelay/wire/asio.hpp"

namespace tickrelay::fanout::testing {

// Resolves the streams a test added, and nothing else.
class FakeCatalog final : public StreamCatalog {
 public:
  explicit FakeCatalog(Router& router) : router_(router) {}
  StreamId add(const std::string& name, bool replay = false) {
    const auto id = router_.add_stream(name, StreamKind::trade, replay);
    ids_[name] = id;
    return id;
  }
  // Accepted and carrying nothing (a stream asked on a path that does not
  // serve it).
  void add_silent(const std::string& name) { ids_[name] = kSilentStream; }
  StreamId resolve(std::string_view name, std::string_view, bool, std::string& error) override {
    const auto it = ids_.find(std::string(name));
    if (it != ids_.end()) return it->second;
    error = "stream `" + std::string(name) + "` is not carried";
    return kNoStream;
  }

 private:
  Router& router_;
  std::map<std::string, StreamId> ids_;
};

// A Beast client driven by the same loop: connects, reads every message
// into `messages` until the connection ends.
class TestClient {
 public:
  explicit TestClient(net::io_context& ioc) : ws_(ioc) {}

  void connect(const tcp::endpoint& server, const std::string& target) {
    ws_.next_layer().async_connect(server, [this, target](error_code ec) {
      if (ec) return finish(ec);
      ws_.async_handshake("127.0.0.1", target, [this](error_code hec) {
        if (hec) return finish(hec);
        open = true;
        do_read();
      });
    });
  }
  void send(const std::string& text) {
    outbox_.push_back(text);
    if (outbox_.size() == 1) do_send();
  }
  // Hangs up without a close handshake.
  void drop() {
    error_code ignored;
    ws_.next_layer().close(ignored);
  }
  void close() {
    ws_.async_close(beast::websocket::close_code::normal, [this](error_code ec) {
      close_done = true;
      close_error = ec;
    });
  }

  bool open = false;
  bool ended = false;  // the read loop stopped: `error` says why
  error_code error;
  bool close_done = false;  // our close() completed: `close_error` says how
  error_code close_error;
  std::vector<std::string> messages;
  std::uint16_t close_code() const { return ws_.reason().code; }
  std::string close_text() const { return std::string(ws_.reason().reason.data(), ws_.reason().reason.size()); }

 private:
  void do_read() {
    ws_.async_read(buffer_, [this](error_code ec, std::size_t) {
      if (ec) return finish(ec);
      messages.push_back(beast::buffers_to_string(buffer_.data()));
      buffer_.consume(buffer_.size());
      do_read();
    });
  }
  void do_send() {
    ws_.async_write(net::buffer(outbox_.front()), [this](error_code ec, std::size_t) {
      if (ec) return;
      outbox_.erase(outbox_.begin());
      if (!outbox_.empty()) do_send();
    });
  }
  void finish(error_code ec) {
    ended = true;
    error = ec;
  }

  beast::websocket::stream<tcp::socket> ws_;
  beast::flat_buffer buffer_;
  std::vector<std::string> outbox_;
};

class SessionHarness : public ::testing::Test {
 protected:
  SessionHarness() : log_("test", std::make_shared<spdlog::sinks::null_sink_st>()) {
    config_.client_message_rate = 1000;  // the rate limit is not what most tests look at
  }
  ~SessionHarness() override {
    if (listener_) listener_->stop();
    for (auto& c : clients_) c->drop();
    // Every session must be gone before the registry it refers to; the
    // clients' handlers must have run before the clients go.
    run_until([&] {
      for (auto& c : clients_)
        if (!c->ended) return false;
      return !registry_ || registry_->admitted() == 0;
    });
    ioc_.poll();
  }

  // Starts the server with config_ as the tests left it.
  void start() {
    registry_ = std::make_unique<ClientRegistry>(ioc_, config_, router_, catalog_, counters_, log_);
    listener_ = std::make_shared<Listener>(ioc_, *registry_, nullptr);
    listener_->listen(tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    listener_->start();
  }

  TestClient& connect(const std::string& target) {
    clients_.push_back(std::make_unique<TestClient>(ioc_));
    clients_.back()->connect(listener_->local_endpoint(), target);
    return *clients_.back();
  }
  TestClient& connect_open(const std::string& target) {
    auto& client = connect(target);
    EXPECT_TRUE(run_until([&] { return client.open || client.ended; }));
    EXPECT_TRUE(client.open) << client.error.message();
    return client;
  }

  // Runs handlers until `done()`; false if it never held within the bound
  // (or the loop ran dry).
  bool run_until(const std::function<bool()>& done, std::size_t max_handlers = 200000) {
    for (std::size_t i = 0; i < max_handlers; ++i) {
      if (done()) return true;
      // The wait only keeps a broken test from hanging; nothing is timed.
      if (ioc_.run_one_for(std::chrono::seconds(10)) == 0) return done();
    }
    return done();
  }

  std::uint64_t disconnects(DisconnectReason why) const {
    return counters_.client_disconnects[static_cast<std::size_t>(why)];
  }
  std::uint64_t all_disconnects() const {
    std::uint64_t sum = 0;
    for (auto n : counters_.client_disconnects) sum += n;
    return sum;
  }

  net::io_context ioc_;
  ServerConfig config_;
  Router router_;
  FakeCatalog catalog_{router_};
  RelayCounters counters_;
  spdlog::logger log_;
  std::unique_ptr<ClientRegistry> registry_;
  std::shared_ptr<Listener> listener_;
  std::vector<std::unique_ptr<TestClient>> clients_;
};

}  // namespace tickrelay::fanout::testing
