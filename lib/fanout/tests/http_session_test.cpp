#include "http_session.hpp"

#include <gtest/gtest.h>

#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <string>

#include "session_harness.hpp"

namespace tickrelay::fanout {
namespace {

TEST(HttpSession, TokenMatchesOnlyTheExactToken) {
  EXPECT_TRUE(token_matches("s3cret", "s3cret"));
  EXPECT_FALSE(token_matches("s3creT", "s3cret"));
  EXPECT_FALSE(token_matches("s3cre", "s3cret"));
  EXPECT_FALSE(token_matches("s3crett", "s3cret"));
  EXPECT_FALSE(token_matches("", "s3cret"));
  EXPECT_FALSE(token_matches("x3cret", "s3cret"));
}

TEST(HttpSession, EmptyConfiguredTokenMatchesNothing) {
  // The caller checks for "no token configured" first; an empty expected
  // token must never let an empty presented one through by accident.
  EXPECT_FALSE(token_matches("", ""));
  EXPECT_FALSE(token_matches("x", ""));
}

TEST(HttpSession, TokenComparisonCoversEveryByte) {
  const std::string expected(64, 'a');
  for (std::size_t i = 0; i < expected.size(); ++i) {
    std::string presented = expected;
    presented[i] = 'b';
    EXPECT_FALSE(token_matches(presented, expected)) << i;
  }
  EXPECT_TRUE(token_matches(expected, expected));
}

TEST(HttpSession, TokenWithEmbeddedNul) {
  const std::string expected("ab\0cd", 5);
  EXPECT_TRUE(token_matches(std::string("ab\0cd", 5), expected));
  EXPECT_FALSE(token_matches(std::string("ab\0ce", 5), expected));
  EXPECT_FALSE(token_matches("ab", expected));
}

beast::http::request<beast::http::empty_body> upgrade(const std::string& target) {
  beast::http::request<beast::http::empty_body> request(beast::http::verb::get, target, 11);
  request.set(beast::http::field::host, "127.0.0.1");
  request.set(beast::http::field::upgrade, "websocket");
  request.set(beast::http::field::connection, "Upgrade");
  request.set(beast::http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  request.set(beast::http::field::sec_websocket_version, "13");
  return request;
}

TEST(CheckRequest, SizeLimitCountsTheWholeRequest) {
  const ServerConfig config;
  const auto ok = check_request({}, config.max_request_bytes, upgrade("/ws/a@trade"), config);
  EXPECT_EQ(ok.action, RequestVerdict::Action::upgrade);
  ASSERT_TRUE(ok.target.has_value());
  EXPECT_EQ(ok.target->streams, std::vector<std::string>{"a@trade"});
  const auto over = check_request({}, config.max_request_bytes + 1, upgrade("/ws/a@trade"), config);
  EXPECT_EQ(over.action, RequestVerdict::Action::refuse);
  EXPECT_EQ(over.status, beast::http::status::request_header_fields_too_large);
  EXPECT_EQ(check_request(beast::http::error::header_limit, 0, {}, config).status,
            beast::http::status::request_header_fields_too_large);
  EXPECT_EQ(check_request(net::error::eof, 0, {}, config).action, RequestVerdict::Action::close);
}

TEST(CheckRequest, OrderOfRefusals) {
  ServerConfig config;
  config.auth_token = "t";
  config.max_streams_per_client = 1;
  auto status = [&](const std::string& target) { return check_request({}, 100, upgrade(target), config).status; };
  EXPECT_EQ(status("/ws/" + std::string(config.max_path_bytes, 'a')), beast::http::status::uri_too_long);
  EXPECT_EQ(status("/nowhere"), beast::http::status::unauthorized);
  auto bearer = upgrade("/nowhere");
  bearer.set(beast::http::field::authorization, "Bearer t");
  EXPECT_EQ(check_request({}, 100, bearer, config).status, beast::http::status::not_found);
  EXPECT_EQ(status("/ws/a@trade/b@trade"), beast::http::status::unauthorized);
  EXPECT_EQ(status("/ws/a@trade/b@trade?token=t"), beast::http::status::bad_request);
  EXPECT_EQ(status("/ws/a@trade?token=t"), beast::http::status::switching_protocols);
  beast::http::request<beast::http::empty_body> livez(beast::http::verb::get, "/livez", 11);
  const auto health = check_request({}, 30, livez, config);
  EXPECT_EQ(health.action, RequestVerdict::Action::answer);
  EXPECT_EQ(health.status, beast::http::status::ok);
}

// Writes one request as given and reads the response's head.
class RawRequest {
 public:
  RawRequest(net::io_context& ioc, const tcp::endpoint& server, std::string request)
      : socket_(ioc), request_(std::move(request)) {
    socket_.async_connect(server, [this](error_code ec) {
      if (ec) return finish();
      net::async_write(socket_, net::buffer(request_), [this](error_code wec, std::size_t) {
        if (wec) return finish();
        net::async_read_until(socket_, net::dynamic_buffer(response_), "\r\n\r\n",
                              [this](error_code, std::size_t) { finish(); });
      });
    });
  }
  ~RawRequest() {
    error_code ignored;
    socket_.close(ignored);
  }
  bool done = false;
  // The status code of the response, 0 if none came.
  int status() const {
    if (!response_.starts_with("HTTP/1.1 ") || response_.size() < 12) return 0;
    return std::stoi(response_.substr(9, 3));
  }

 private:
  void finish() { done = true; }
  tcp::socket socket_;
  std::string request_;
  std::string response_;
};

// An upgrade request of exactly `size` bytes, headers included: a padding
// header makes up the difference.
std::string upgrade_request(const std::string& target, std::size_t size) {
  const std::string head = "GET " + target +
                           " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nX-Pad: ";
  const std::string tail = "\r\n\r\n";
  EXPECT_GE(size, head.size() + tail.size());
  return head + std::string(size - head.size() - tail.size(), 'p') + tail;
}

class HttpSessionLimits : public testing::SessionHarness {
 protected:
  int status_of(const std::string& request) {
    requests_.push_back(std::make_unique<RawRequest>(ioc_, listener_->local_endpoint(), request));
    auto& r = *requests_.back();
    EXPECT_TRUE(run_until([&] { return r.done; }));
    return r.status();
  }
  ~HttpSessionLimits() override { requests_.clear(); }
  std::vector<std::unique_ptr<RawRequest>> requests_;
};

TEST_F(HttpSessionLimits, RequestOfExactlyMaxRequestBytesIsAccepted) {
  catalog_.add("btcusdt@trade");
  start();
  ASSERT_EQ(config_.max_request_bytes, 16384u);
  EXPECT_EQ(status_of(upgrade_request("/ws/btcusdt@trade", 16384)), 101);
}

TEST_F(HttpSessionLimits, RequestOneByteOverMaxRequestBytesGets431) {
  catalog_.add("btcusdt@trade");
  start();
  EXPECT_EQ(status_of(upgrade_request("/ws/btcusdt@trade", 16385)), 431);
  // The request line counts towards the same limit as the headers.
  const std::string long_target = "/ws/btcusdt@trade/" + std::string(12000, 'x') + "@trade";
  EXPECT_EQ(status_of(upgrade_request(long_target, 16385)), 431);
  EXPECT_EQ(status_of(upgrade_request("/ws/btcusdt@trade", 40000)), 431);
}

TEST_F(HttpSessionLimits, StreamCapCountsEveryNameInThePath) {
  catalog_.add("btcusdt@trade");
  config_.max_streams_per_client = 4;
  start();
  EXPECT_EQ(status_of(upgrade_request("/ws/btcusdt@trade/btcusdt@trade/btcusdt@trade/btcusdt@trade", 400)), 101);
  EXPECT_EQ(status_of(
                upgrade_request("/ws/btcusdt@trade/btcusdt@trade/btcusdt@trade/btcusdt@trade/btcusdt@trade", 400)),
            400);
}

TEST_F(HttpSessionLimits, TokenIsCheckedBeforeTheStreamCap) {
  catalog_.add("btcusdt@trade");
  config_.max_streams_per_client = 1;
  config_.auth_token = "s3cret";
  start();
  EXPECT_EQ(status_of(upgrade_request("/stream?streams=a@trade/b@trade", 400)), 401);
  EXPECT_EQ(status_of(upgrade_request("/stream?streams=a@trade/b@trade&token=s3cret", 400)), 400);
  EXPECT_EQ(status_of(upgrade_request("/stream?streams=btcusdt@trade&token=s3cret", 400)), 101);
}

}  // namespace
}  // namespace tickrelay::fanout
