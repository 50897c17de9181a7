// SimServer's faults as its clients see them, over loopback in one
// io_context: the hooked sessions substitute malformed frames, drop the
// connection right behind the Nth event, and close with 1001 on stop; and
// the REST snapshots on the same port agree with the diff-depth streams.
#include "sim_server.hpp"

#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/null_sink.h>

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/json.hpp>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sim_options.hpp"

namespace tickrelay::sim {
namespace {

namespace websocket = beast::websocket;
namespace http = beast::http;
namespace json = boost::json;

struct HttpResult {
  http::response<http::string_body> response;
  error_code ec;
  bool done = false;
};

// A GET on its own connection, answered on the test's loop.
void http_get(net::io_context& ioc, const tcp::endpoint& server, const std::string& target, HttpResult& out) {
  auto socket = std::make_shared<tcp::socket>(ioc);
  auto request = std::make_shared<http::request<http::empty_body>>(http::verb::get, target, 11);
  request->set(http::field::host, "127.0.0.1");
  auto buffer = std::make_shared<beast::flat_buffer>();
  socket->async_connect(server, [socket, request, buffer, &out](error_code ec) {
    if (ec) {
      out.ec = ec;
      out.done = true;
      return;
    }
    http::async_write(*socket, *request, [socket, request, buffer, &out](error_code wec, std::size_t) {
      if (wec) {
        out.ec = wec;
        out.done = true;
        return;
      }
      http::async_read(*socket, *buffer, out.response, [socket, buffer, &out](error_code rec, std::size_t) {
        out.ec = rec;
        out.done = true;
      });
    });
  });
}

// Price → quantity of one side, as the decimal strings say.
using Side = std::map<std::string, std::string>;
void set_levels(Side& side, const json::array& levels) {
  for (const auto& level : levels) {
    const std::string price(level.as_array()[0].as_string());
    const std::string qty(level.as_array()[1].as_string());
    if (std::stod(qty) == 0) {
      side.erase(price);
    } else {
      side[price] = qty;
    }
  }
}

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
  HttpResult get(const std::string& target) {
    HttpResult result;
    http_get(ioc_, server_->local_endpoint(), target, result);
    EXPECT_TRUE(run_until([&] { return result.done; }));
    EXPECT_FALSE(result.ec) << result.ec.message();
    return result;
  }
  json::object message(std::size_t i) { return json::parse(messages_.at(i)).as_object(); }

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

TEST_F(SimServerTest, RestSnapshotAndDiffDepthStreamAgree) {
  start({"--rate", "2000", "--book-levels", "40"});
  connect("/ws/btcusdt@depth@100ms");
  ASSERT_TRUE(run_until([&] { return messages_.size() >= 3; }));
  const auto first = get("/api/v3/depth?symbol=BTCUSDT&limit=5000");
  ASSERT_EQ(first.response.result(), http::status::ok) << first.response.body();
  EXPECT_EQ(first.response[http::field::content_type], "application/json");
  EXPECT_EQ(first.response["X-MBX-USED-WEIGHT-1M"], "250");
  const auto snapshot = json::parse(first.response.body()).as_object();
  std::uint64_t id = snapshot.at("lastUpdateId").to_number<std::uint64_t>();
  Side bids;
  Side asks;
  set_levels(bids, snapshot.at("bids").as_array());
  set_levels(asks, snapshot.at("asks").as_array());

  const std::size_t seen = messages_.size();
  ASSERT_TRUE(run_until([&] { return messages_.size() >= seen + 20; }));
  const auto second = get("/api/v3/depth?symbol=BTCUSDT&limit=5000");
  EXPECT_EQ(second.response["X-MBX-USED-WEIGHT-1M"], "500");
  const auto later = json::parse(second.response.body()).as_object();
  const auto target = later.at("lastUpdateId").to_number<std::uint64_t>();
  // Only this stream changes the book, so some event ends exactly there.
  const auto reached = [&] {
    return !messages_.empty() && json::parse(messages_.back()).at("u").to_number<std::uint64_t>() >= target;
  };
  ASSERT_TRUE(run_until(reached));
  bool applied_any = false;
  for (std::size_t i = 0; i < messages_.size(); ++i) {
    const auto ev = message(i);
    const auto u = ev.at("u").to_number<std::uint64_t>();
    if (u <= id) continue;
    if (u > target) break;
    ASSERT_LE(ev.at("U").to_number<std::uint64_t>(), id + 1);
    ASSERT_GT(u, id);
    if (applied_any) {
      ASSERT_EQ(ev.at("U").to_number<std::uint64_t>(), id + 1);
    }
    set_levels(bids, ev.at("b").as_array());
    set_levels(asks, ev.at("a").as_array());
    id = u;
    applied_any = true;
  }
  EXPECT_TRUE(applied_any);
  EXPECT_EQ(id, target);
  Side want_bids;
  Side want_asks;
  set_levels(want_bids, later.at("bids").as_array());
  set_levels(want_asks, later.at("asks").as_array());
  EXPECT_EQ(bids, want_bids);
  EXPECT_EQ(asks, want_asks);

  const auto stats = json::parse(get("/sim/rest-stats").response.body()).as_object();
  EXPECT_EQ(stats.at("requests").as_int64(), 2);
  EXPECT_EQ(stats.at("max_weight_60s").as_int64(), 500);
}

TEST_F(SimServerTest, SkippedDepthEventsLeaveAGapInTheUpdateIds) {
  start({"--rate", "2000", "--skip-every", "3", "--drop-after-events", "6"});
  connect("/public/ws/btcusdt@depth@500ms");
  ASSERT_TRUE(run_until([&] { return ended_; }));
  ASSERT_EQ(messages_.size(), 6u);
  // Events 3 and 6 of the stream are lost: every second one delivered shows it.
  for (std::size_t i = 1; i < messages_.size(); ++i) {
    const auto previous = message(i - 1);
    const auto ev = message(i);
    EXPECT_EQ(ev.at("e").as_string(), "depthUpdate");
    const bool gap = i % 2 == 0;
    EXPECT_EQ(ev.at("pu") == previous.at("u"), !gap) << i;
    EXPECT_EQ(ev.at("U").to_number<std::uint64_t>() > previous.at("u").to_number<std::uint64_t>() + 1, gap) << i;
  }
}

TEST_F(SimServerTest, RestDelayHoldsTheAnswerWhileEventsFlow) {
  start({"--rate", "2000", "--rest-delay", "0.3", "--rest-weight-limit", "2"});
  connect("/public/ws/ethusdt@depth");
  ASSERT_TRUE(run_until([&] { return !messages_.empty(); }));
  const auto asked = std::chrono::steady_clock::now();
  const std::size_t before = messages_.size();
  const auto answer = get("/fapi/v1/depth?symbol=ETHUSDT&limit=5");
  EXPECT_GE(std::chrono::steady_clock::now() - asked, std::chrono::milliseconds(300));
  ASSERT_EQ(answer.response.result(), http::status::ok);
  // Taken when asked, sent late: events newer than it arrived meanwhile.
  EXPECT_GT(messages_.size(), before + 10);
  const auto id = json::parse(answer.response.body()).at("lastUpdateId").to_number<std::uint64_t>();
  EXPECT_LT(id, json::parse(messages_.back()).at("u").to_number<std::uint64_t>());
  // A limit of 2 (the weight of limit 5): the next one in this minute is
  // refused, unless the minute just turned.
  const auto refused = get("/fapi/v1/depth?symbol=ETHUSDT&limit=5");
  if (refused.response.result() != http::status::ok) {
    EXPECT_EQ(refused.response.result(), http::status::too_many_requests);
    EXPECT_FALSE(refused.response[http::field::retry_after].empty());
    EXPECT_EQ(refused.response["X-MBX-USED-WEIGHT-1M"], "2");
  }
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
