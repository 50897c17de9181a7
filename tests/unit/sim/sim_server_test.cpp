// SimServer's faults as its clients see them, over loopback in one
// io_context: the hooked sessions substitute malformed frames, drop the
// connection right behind the Nth event, and close with 1001 on stop.
#include "sim_server.hpp"

#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/null_sink.h>

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sim_options.hpp"

namespace tickrelay::sim {
namespace {

namespace websocket = beast::websocket;

SimOptions options_of(std::vector<std::string> args) {
  args.insert(args.begin(), {"tickrelay-sim", "--plain", "--listen", "127.0.0.1:0", "--log-level", "off"});
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  auto result = parse_sim_options(static_cast<int>(argv.size()), argv.data());
  EXPECT_TRUE(result.options) << result.message;
  return result.options.value_or(SimOptions{});
}

class SimServerTest : public ::testing::Test {
 protected:
  SimServerTest() : log_("test", std::make_shared<spdlog::sinks::null_sink_st>()) {}
  ~SimServerTest() override {
    error_code ignored;
    ws_.next_layer().close(ignored);
    if (server_ && !stopped_) {
      server_->stop([this](std::size_t) { stopped_ = true; });
      run_until([&] { return stopped_ && ended_; });
    }
    ioc_.poll();
  }

  void start(std::vector<std::string> args) {
    server_ = std::make_unique<SimServer>(ioc_, options_of(std::move(args)), log_);
    server_->start();
  }

  void connect(const std::string& target) {
    ws_.next_layer().async_connect(server_->local_endpoint(), [this, target](error_code ec) {
      if (ec) return finish(ec);
      ws_.async_handshake("127.0.0.1", target, [this](error_code hec) {
        if (hec) return finish(hec);
        do_read();
      });
    });
  }

  bool run_until(const std::function<bool()>& done, std::size_t max_handlers = 1000000) {
    for (std::size_t i = 0; i < max_handlers; ++i) {
      if (done()) return true;
      // The wait only keeps a broken test from hanging; nothing is timed.
      if (ioc_.run_one_for(std::chrono::seconds(10)) == 0) return done();
    }
    return done();
  }

  void do_read() {
    ws_.async_read(buffer_, [this](error_code ec, std::size_t) {
      if (ec) return finish(ec);
      messages_.push_back(beast::buffers_to_string(buffer_.data()));
      buffer_.consume(buffer_.size());
      do_read();
    });
  }
  void finish(error_code ec) {
    ended_ = true;
    error_ = ec;
  }

  net::io_context ioc_;
  spdlog::logger log_;
  std::unique_ptr<SimServer> server_;
  websocket::stream<tcp::socket> ws_{ioc_};
  beast::flat_buffer buffer_;
  std::vector<std::string> messages_;
  bool ended_ = false;
  bool stopped_ = false;
  error_code error_;
};

TEST_F(SimServerTest, DropAfterEventsEndsTheConnectionRightBehindTheNthWithoutACloseFrame) {
  start({"--rate", "2000", "--drop-after-events", "5"});
  connect("/ws/btcusdt@trade");
  ASSERT_TRUE(run_until([&] { return ended_; }));
  EXPECT_EQ(messages_.size(), 5u);
  // An abrupt end: the socket went, no close frame came.
  EXPECT_NE(error_, websocket::error::closed) << error_.message();
  for (const auto& m : messages_) EXPECT_NE(m.find(R"("e":"trade")"), std::string::npos) << m;
}

TEST_F(SimServerTest, MalformedEveryNthFrameIsSubstituted) {
  start({"--rate", "2000", "--malformed-every", "2", "--drop-after-events", "6"});
  connect("/ws/btcusdt@trade");
  ASSERT_TRUE(run_until([&] { return ended_; }));
  ASSERT_EQ(messages_.size(), 6u);
  // Frames 2, 4 and 6 are replaced, cycling through the malformed kinds:
  // half an event, a proxy's HTML page, a trade of a symbol never asked for.
  for (std::size_t i : {0u, 2u, 4u}) {
    const auto& m = messages_[i];
    EXPECT_TRUE(m.starts_with(R"({"e":"trade")") && m.find(R"("s":"BTCUSDT")") != std::string::npos && m.ends_with("}"))
        << i << ": " << m;
  }
  EXPECT_TRUE(messages_[1].starts_with(R"({"e":"trade")") && !messages_[1].ends_with("}")) << messages_[1];
  EXPECT_EQ(messages_[3], "<html><body><h1>502 Bad Gateway</h1></body></html>");
  EXPECT_TRUE(messages_[5].starts_with(R"({"e":"trade")") && messages_[5].find(R"("s":"BTCUSDT")") == std::string::npos)
      << messages_[5];
}

TEST_F(SimServerTest, StopClosesEveryClientWith1001) {
  start({"--rate", "1000"});
  connect("/ws/btcusdt@trade");
  ASSERT_TRUE(run_until([&] { return !messages_.empty(); }));
  std::optional<std::size_t> left;
  server_->stop([&](std::size_t n) { left = n; });
  ASSERT_TRUE(run_until([&] { return left.has_value() && ended_; }));
  stopped_ = true;
  EXPECT_EQ(*left, 0u);
  EXPECT_EQ(error_, websocket::error::closed) << error_.message();
  EXPECT_EQ(ws_.reason().code, 1001);
}

}  // namespace
}  // namespace tickrelay::sim
