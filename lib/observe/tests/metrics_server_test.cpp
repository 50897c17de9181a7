#include "tickrelay/observe/metrics_server.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <future>
#include <thread>

#include "process_runner.hpp"
#include "tickrelay/observe/family_builder.hpp"

namespace tickrelay::observe {
namespace {
namespace http = beast::http;

// A blocking HTTP client with a receive timeout, so a server bug fails the
// test instead of hanging it.
class TestClient {
 public:
  explicit TestClient(unsigned short port) : socket_(ioc_) {
    socket_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    timeval timeout{10, 0};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }

  http::response<http::string_body> request(http::verb verb, const std::string& target, bool keep_alive = true,
                                            const std::string& extra_header = {}) {
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (!extra_header.empty()) req.set("X-Padding", extra_header);
    req.keep_alive(keep_alive);
    http::write(socket_, req);
    http::response<http::string_body> res;
    http::read(socket_, buffer_, res);
    return res;
  }

  // True when the server has closed the connection (EOF or reset).
  bool closed_by_server() {
    char byte;
    error_code ec;
    socket_.read_some(net::buffer(&byte, 1), ec);
    return ec == net::error::eof || ec == net::error::connection_reset;
  }

  tcp::socket& socket() { return socket_; }

 private:
  net::io_context ioc_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

std::vector<prometheus::MetricFamily> sample_families(int scrape) {
  auto family = make_family("test_scrapes_total", "Scrapes served.", prometheus::MetricType::Counter);
  family.metric.push_back(counter_metric({{"impl", "x"}}, scrape));
  return {family};
}

// Runs the server on its own io_context in a background thread, as a
// program's event loop would.
class MetricsServerTest : public ::testing::Test {
 protected:
  void start_server(MetricsServerLimits limits = {}) {
    server_ = std::make_unique<MetricsServer>(
        ioc_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0), [this] { return sample_families(++scrapes_); },
        [this] {
          return std::pair<bool, std::string>{healthy_.load(), "upstream down"};
        },
        limits);
    server_->start();
    port_ = server_->local_endpoint().port();
    thread_ = std::thread([this] { ioc_.run(); });
  }

  void TearDown() override {
    if (server_) {
      run_on_loop([this] { server_->stop(); });
    }
    work_.reset();
    if (thread_.joinable()) thread_.join();
  }

  template <class F>
  void run_on_loop(F f) {
    std::promise<void> done;
    net::post(ioc_, [&] {
      f();
      done.set_value();
    });
    done.get_future().wait();
  }

  net::io_context ioc_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_{ioc_.get_executor()};
  std::unique_ptr<MetricsServer> server_;
  std::thread thread_;
  std::atomic<int> scrapes_{0};
  std::atomic<bool> healthy_{true};
  unsigned short port_ = 0;
};

TEST_F(MetricsServerTest, ServesMetricsInPrometheusTextFormat) {
  start_server();
  EXPECT_NE(port_, 0);
  TestClient client(port_);
  const auto res = client.request(http::verb::get, "/metrics");
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(res[http::field::content_type], "text/plain; version=0.0.4");
  EXPECT_NE(res.body().find("# TYPE test_scrapes_total counter"), std::string::npos) << res.body();
  EXPECT_NE(res.body().find("test_scrapes_total{impl=\"x\"} 1"), std::string::npos) << res.body();
}

TEST_F(MetricsServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  start_server();
  TestClient client(port_);
  for (int i = 1; i <= 3; ++i) {
    const auto res = client.request(http::verb::get, "/metrics?x=1");
    ASSERT_EQ(res.result(), http::status::ok);
    EXPECT_TRUE(res.keep_alive());
    EXPECT_NE(res.body().find("test_scrapes_total{impl=\"x\"} " + std::to_string(i)), std::string::npos);
  }
}

TEST_F(MetricsServerTest, ConnectionCloseIsHonoured) {
  start_server();
  TestClient client(port_);
  const auto res = client.request(http::verb::get, "/metrics", /*keep_alive=*/false);
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_FALSE(res.keep_alive());
  EXPECT_TRUE(client.closed_by_server());
}

TEST_F(MetricsServerTest, HealthzReportsHealthAndReason) {
  start_server();
  TestClient client(port_);
  auto res = client.request(http::verb::get, "/healthz");
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(res.body(), "ok\n");
  healthy_ = false;
  res = client.request(http::verb::get, "/healthz");
  EXPECT_EQ(res.result(), http::status::service_unavailable);
  EXPECT_EQ(res.body(), "upstream down\n");
}

TEST_F(MetricsServerTest, UnknownPathIs404AndOtherMethodsAre405) {
  start_server();
  TestClient client(port_);
  EXPECT_EQ(client.request(http::verb::get, "/").result(), http::status::not_found);
  EXPECT_EQ(client.request(http::verb::get, "/metricsx").result(), http::status::not_found);
  const auto res = client.request(http::verb::post, "/metrics");
  EXPECT_EQ(res.result(), http::status::method_not_allowed);
  EXPECT_EQ(res[http::field::allow], "GET");
  EXPECT_EQ(client.request(http::verb::head, "/healthz").result(), http::status::method_not_allowed);
  // The connection is still usable after the errors.
  EXPECT_EQ(client.request(http::verb::get, "/healthz").result(), http::status::ok);
}

TEST_F(MetricsServerTest, OversizedRequestIsRefusedAndClosed) {
  MetricsServerLimits limits;
  limits.max_request_bytes = 1024;
  start_server(limits);
  TestClient client(port_);
  const auto res = client.request(http::verb::get, "/metrics", true, std::string(4000, 'a'));
  EXPECT_EQ(res.result(), http::status::payload_too_large);
  EXPECT_TRUE(client.closed_by_server());
  EXPECT_EQ(scrapes_.load(), 0);
}

TEST_F(MetricsServerTest, IdleConnectionIsClosed) {
  MetricsServerLimits limits;
  limits.idle_timeout = std::chrono::milliseconds(200);
  start_server(limits);
  TestClient client(port_);
  EXPECT_EQ(client.request(http::verb::get, "/healthz").result(), http::status::ok);
  // Nothing more is sent: the server must end the connection by itself.
  EXPECT_TRUE(client.closed_by_server());
}

TEST_F(MetricsServerTest, StopClosesOpenSessionsAndTheListener) {
  start_server();
  TestClient client(port_);
  EXPECT_EQ(client.request(http::verb::get, "/healthz").result(), http::status::ok);
  run_on_loop([this] { server_->stop(); });
  EXPECT_TRUE(client.closed_by_server());
  net::io_context ioc;
  tcp::socket probe(ioc);
  error_code ec;
  probe.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_), ec);
  EXPECT_TRUE(ec);
}

TEST_F(MetricsServerTest, DestroyingTheServerWithOpenSessionsIsSafe) {
  start_server();
  TestClient client(port_);
  EXPECT_EQ(client.request(http::verb::get, "/healthz").result(), http::status::ok);
  run_on_loop([this] { server_.reset(); });
  EXPECT_TRUE(client.closed_by_server());
}

TEST(MetricsServer, StartThrowsNamingTheAddressWhenThePortIsTaken) {
  net::io_context ioc;
  MetricsServer first(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0), {}, {});
  first.start();
  const auto port = first.local_endpoint().port();
  MetricsServer second(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), port), {}, {});
  try {
    second.start();
    FAIL() << "second bind succeeded";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(port)), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tickrelay::observe
