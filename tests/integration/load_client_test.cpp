// tickrelay-load against a server that is not tickrelay: a small Python
// `websockets` server (tests/support/binance_ws_server.py) that sends a known
// number of Binance-shaped events per connection, with E in microseconds and
// consecutive ids, some deliberately skipped or repeated.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/buffers_iterator.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "process_runner.hpp"
#include "programs.hpp"
#include "ws_handshake.hpp"

namespace tickrelay::test {
namespace {
namespace http = boost::beast::http;
namespace json = boost::json;
using namespace std::chrono_literals;

const std::string kServerScript = std::string(TICKRELAY_SOURCE_DIR) + "/tests/support/binance_ws_server.py";

// One Python server on a free port, up and listening.
class PyServer {
 public:
  explicit PyServer(std::vector<std::string> args) : port_(free_port()) {
    std::vector<std::string> argv{"/usr/bin/python3", kServerScript, "--port", std::to_string(port_)};
    argv.insert(argv.end(), args.begin(), args.end());
    process_ = std::make_unique<ChildProcess>(argv);
    if (!wait_for_port(port_, 20s)) {
      throw std::runtime_error("test server did not start: " + process_->output());
    }
  }
  unsigned short port() const { return port_; }
  pid_t pid() const { return process_->pid(); }
  std::string url(const std::string& path, const std::string& scheme = "ws") const {
    return scheme + "://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  unsigned short port_;
  std::unique_ptr<ChildProcess> process_;
};

struct LoadRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr
  json::object report;
};

// Runs tickrelay-load to its end (bounded) and reads the JSON report.
LoadRun run_load(std::vector<std::string> args, const TempDir& dir, std::chrono::seconds timeout = 60s) {
  const std::string report_file = dir.file("report-" + std::to_string(::getpid()) + ".json");
  std::vector<std::string> argv{bin("tickrelay-load"), "--format", "json", "--output", report_file};
  argv.insert(argv.end(), args.begin(), args.end());
  ChildProcess load(argv);
  LoadRun run;
  const auto code = load.wait(timeout);
  run.exit_code = code ? *code : load.stop();
  run.output = load.output();
  const std::string text = read_file(report_file);
  if (!text.empty()) run.report = json::parse(text).as_object();
  return run;
}

const json::object& target(const LoadRun& run, std::size_t i = 0) {
  return run.report.at("targets").as_array().at(i).as_object();
}

std::int64_t integer(const json::object& o, const char* key) { return o.at(key).to_number<std::int64_t>(); }

class LoadClientTest : public ::testing::Test {
 protected:
  TempDir dir_;
};

TEST_F(LoadClientTest, ExactCountsGapsAndDuplicatesFromAForeignServer) {
  // Per connection and stream: ids 1..203 without 10, 11 and 50 (3 lost), id
  // 20 sent twice (1 duplicate): 201 messages.
  PyServer server({"--events", "200", "--skip", "10,11,50", "--duplicate", "20"});
  const int connections = 4;
  const int per_connection = 2 * 201;
  const auto run = run_load({"--url", server.url("/ws/btcusdt@trade/ethusdt@aggTrade"), "--impl", "python", "-c",
                             std::to_string(connections), "--messages", std::to_string(connections * per_connection),
                             "-q"},
                            dir_);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto& t = target(run);
  EXPECT_EQ(t.at("impl").as_string(), "python");
  EXPECT_EQ(integer(t, "messages"), connections * per_connection);
  EXPECT_EQ(integer(t.at("per_connection").as_object(), "min"), per_connection);
  EXPECT_EQ(integer(t.at("per_connection").as_object(), "max"), per_connection);
  EXPECT_EQ(integer(t, "lost"), connections * 2 * 3);
  EXPECT_EQ(integer(t, "duplicates"), connections * 2 * 1);
  EXPECT_EQ(integer(t, "errors"), 0);
  EXPECT_EQ(integer(t, "control_messages"), 0);
  EXPECT_EQ(integer(t, "malformed"), 0);
  EXPECT_EQ(integer(t.at("latency_ms").as_object(), "samples"), connections * per_connection);
  EXPECT_FALSE(t.at("event_time_in_milliseconds").as_bool());
  EXPECT_EQ(integer(t, "connections_up_end"), connections);
  EXPECT_GT(integer(t, "bytes"), connections * per_connection * 50);
  const auto& movers = t.at("top_movers").as_array();
  ASSERT_EQ(movers.size(), 2u);
  std::vector<std::string> symbols;
  for (const auto& m : movers) symbols.emplace_back(m.as_object().at("symbol").as_string());
  std::sort(symbols.begin(), symbols.end());
  EXPECT_EQ(symbols, (std::vector<std::string>{"BTCUSDT", "ETHUSDT"}));
  // The report holds every field.
  for (const char* key : {"duration_seconds", "threads", "reader", "client", "targets"}) {
    EXPECT_TRUE(run.report.contains(key)) << key;
  }
  for (const char* key : {"cpu_percent", "resident_avg_bytes", "resident_peak_bytes"}) {
    EXPECT_TRUE(run.report.at("client").as_object().contains(key)) << key;
  }
  EXPECT_GT(integer(run.report.at("client").as_object(), "resident_peak_bytes"), 1 << 20);
  for (const char* key : {"p50", "p90", "p99", "p999", "max", "avg"}) {
    EXPECT_TRUE(t.at("latency_ms").as_object().contains(key)) << key;
  }
  for (const char* key : {"messages_per_second", "megabytes_per_second", "reconnects", "connect_errors", "drops",
                          "without_event_time", "server", "ratio_to_first"}) {
    EXPECT_TRUE(t.contains(key)) << key;
  }
}

TEST_F(LoadClientTest, WarmUpMessagesAreLeftOutOfTheReport) {
  // Every event is sent at once after the handshake, long before the warm-up
  // ends; the measured part then sees none of them. Connections still count.
  PyServer server({"--events", "200"});
  const int connections = 3;
  const auto run = run_load({"--url", server.url("/ws/btcusdt@trade"), "-c", std::to_string(connections), "--warm-up",
                             "5", "-d", "0.2", "-q", "--server-pid", std::to_string(server.pid())},
                            dir_);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto& t = target(run);
  EXPECT_EQ(integer(t, "messages"), 0);
  EXPECT_EQ(integer(t, "bytes"), 0);
  EXPECT_EQ(integer(t.at("latency_ms").as_object(), "samples"), 0);
  EXPECT_EQ(integer(t.at("per_connection").as_object(), "max"), 0);
  EXPECT_EQ(integer(t, "lost"), 0);
  EXPECT_EQ(integer(t, "errors"), 0);
  EXPECT_EQ(integer(t, "connections_up_end"), connections);
  EXPECT_GE(run.report.at("warm_up_seconds").to_number<double>(), 5.0);
  EXPECT_LT(run.report.at("duration_seconds").to_number<double>(), 5.0);
  EXPECT_GT(integer(t.at("server").as_object(), "samples"), 0);
}

TEST_F(LoadClientTest, BeastReaderOnTwoThreadsCountsTheSame) {
  PyServer server({"--events", "150", "--skip", "7", "--duplicate", "9"});
  const int connections = 3;
  const auto run = run_load({"--url", server.url("/ws/btcusdt@trade"), "--reader", "beast", "--threads", "2", "-c",
                             std::to_string(connections), "--messages", std::to_string(connections * 151), "-q"},
                            dir_);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto& t = target(run);
  EXPECT_EQ(run.report.at("threads").as_int64(), 2);
  EXPECT_EQ(integer(t, "messages"), connections * 151);
  EXPECT_EQ(integer(t.at("per_connection").as_object(), "min"), 151);
  EXPECT_EQ(integer(t, "lost"), connections);
  EXPECT_EQ(integer(t, "duplicates"), connections);
}

TEST_F(LoadClientTest, CombinedStreamsKlinesAndBookTickers) {
  PyServer server({"--events", "100", "--skip", "30"});
  const auto run = run_load({"--url", server.url("/stream"), "--streams", "btcusdt@kline_1m,ethusdt@bookTicker", "-c",
                             "2", "--messages", std::to_string(2 * 200), "-q"},
                            dir_);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto& t = target(run);
  EXPECT_EQ(integer(t, "messages"), 400);
  EXPECT_EQ(integer(t, "without_event_time"), 200);  // spot bookTicker has no E
  EXPECT_EQ(integer(t.at("latency_ms").as_object(), "samples"), 200);
  EXPECT_EQ(integer(t, "lost"), 2);  // the kline k.L sequence, once per connection
}

TEST_F(LoadClientTest, SubscribeAfterConnectingAndMillisecondTimes) {
  PyServer server({"--events", "50", "--ms"});
  const auto run = run_load({"--url", server.url(""), "--subscribe", "--streams", "btcusdt@trade,ethusdt@trade", "-c",
                             "2", "--messages", "200", "-q"},
                            dir_);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto& t = target(run);
  EXPECT_EQ(integer(t, "messages"), 200);
  EXPECT_EQ(integer(t, "control_messages"), 2);  // {"result":null,"id":1} per connection, not market data
  EXPECT_TRUE(t.at("event_time_in_milliseconds").as_bool());
  EXPECT_EQ(integer(t, "millisecond_times"), 200);
  EXPECT_EQ(integer(t, "lost"), 0);
}

TEST_F(LoadClientTest, PingsFragmentsAndGarbageAreHandled) {
  // The server pings first and closes the connection unless it gets the pong.
  PyServer server({"--events", "100", "--ping", "--fragment", "3", "--garbage"});
  for (const char* reader : {"raw", "beast"}) {
    const auto run = run_load({"--url", server.url("/ws/btcusdt@trade"), "--reader", reader, "-c", "2", "--messages",
                               "200", "-q"},
                              dir_);
    ASSERT_EQ(run.exit_code, 0) << run.output;
    const auto& t = target(run);
    EXPECT_EQ(integer(t, "messages"), 200) << reader;
    EXPECT_EQ(integer(t, "malformed"), 2) << reader;
    EXPECT_EQ(integer(t, "errors"), 0) << reader;
    EXPECT_EQ(integer(t, "lost"), 0) << reader;
  }
}

TEST_F(LoadClientTest, MessagesLargerThanTheReadBufferArriveWhole) {
  // ~480 KB per message, more than the raw reader's 256 KiB read buffer, and
  // every third one fragmented.
  PyServer server({"--events", "6", "--array", "4000", "--fragment", "3"});
  for (const char* reader : {"raw", "beast"}) {
    const auto run = run_load({"--url", server.url("/ws/!miniTicker@arr"), "--reader", reader, "-c", "2", "--messages",
                               "12", "-q"},
                              dir_);
    ASSERT_EQ(run.exit_code, 0) << run.output;
    const auto& t = target(run);
    EXPECT_EQ(integer(t, "messages"), 12) << reader;
    EXPECT_EQ(integer(t, "malformed"), 0) << reader;
    EXPECT_EQ(integer(t, "errors"), 0) << reader;
    EXPECT_GT(integer(t, "bytes"), 12 * 256 * 1024) << reader;
    EXPECT_EQ(t.at("top_movers").as_array().size(), 10u) << reader;  // --top default, out of 4000 symbols
  }
}

TEST_F(LoadClientTest, ServerPidIsSampledFromProc) {
  PyServer server({"--events", "100"});
  const auto run = run_load({"--url", server.url("/ws/btcusdt@trade"), "--server-pid", std::to_string(server.pid()),
                             "-c", "2", "--messages", "200", "-q"},
                            dir_);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto& s = target(run).at("server").as_object();
  EXPECT_EQ(integer(s, "pid"), server.pid());
  EXPECT_TRUE(s.at("available").as_bool());
  EXPECT_FALSE(s.at("exited").as_bool());
  EXPECT_GE(integer(s, "samples"), 2);
  // A Python interpreter with websockets loaded: megabytes, and some CPU
  // already spent starting up.
  EXPECT_GT(integer(s, "resident_peak_bytes"), 5 << 20);
  EXPECT_GT(s.at("cpu_seconds_total").to_number<double>(), 0.0);
}

std::string http_get(unsigned short port, const std::string& target_path, int* status = nullptr) {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket socket(ioc);
  boost::system::error_code ec;
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), port}, ec);
  if (ec) return {};
  timeval timeout{10, 0};
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  http::request<http::empty_body> req{http::verb::get, target_path, 11};
  req.set(http::field::host, "127.0.0.1");
  http::write(socket, req, ec);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(socket, buffer, res, ec);
  if (ec) return {};
  if (status) *status = res.result_int();
  return res.body();
}

TEST_F(LoadClientTest, MetricsAreScrapedDuringARun) {
  PyServer server({"--events", "100000", "--interval", "0.01"});
  const unsigned short metrics_port = free_port();
  const std::string url = server.url("/ws/btcusdt@trade");
  const std::string report_file = dir_.file("metrics-run.json");
  ChildProcess load({bin("tickrelay-load"), "--url", url, "--impl", "pyserver", "--server-pid",
                     std::to_string(server.pid()), "-c", "2", "-d", "60", "--metrics-port",
                     std::to_string(metrics_port), "--format", "json", "--output", report_file, "-q"});
  const std::string labels = "impl=\"pyserver\",target=\"" + url + "\"";
  std::string body;
  ASSERT_TRUE(eventually(
      [&] {
        body = http_get(metrics_port, "/metrics");
        return body.find("tickrelay_load_messages_total{" + labels + "}") != std::string::npos &&
               body.find("tickrelay_load_connections{" + labels + "} 2") != std::string::npos &&
               body.find("tickrelay_load_latency_seconds_count{" + labels + "} 0") == std::string::npos;
      },
      30s))
      << body << load.output();
  for (const std::string family :
       {"tickrelay_load_messages_total", "tickrelay_load_bytes_total", "tickrelay_load_latency_seconds_bucket",
        "tickrelay_load_connections", "tickrelay_load_errors_total", "tickrelay_load_reconnects_total",
        "tickrelay_load_gaps_total", "tickrelay_load_server_cpu_seconds_total",
        "tickrelay_load_server_resident_memory_bytes"}) {
    EXPECT_NE(body.find(family + "{" + labels), std::string::npos) << family << "\n" << body;
  }
  EXPECT_NE(body.find("tickrelay_load_latency_seconds_bucket{" + labels + ",le=\"1e-05\"}"), std::string::npos);
  EXPECT_NE(body.find("tickrelay_load_latency_seconds_bucket{" + labels + ",le=\"10\"}"), std::string::npos);
  EXPECT_NE(body.find("\ntickrelay_load_cpu_seconds_total "), std::string::npos);
  EXPECT_NE(body.find("\ntickrelay_load_resident_memory_bytes "), std::string::npos);
  int status = 0;
  EXPECT_EQ(http_get(metrics_port, "/healthz", &status), "ok\n");
  EXPECT_EQ(status, 200);

  // Ctrl-C ends the run early, with a report.
  load.signal(SIGINT);
  ASSERT_EQ(load.wait(30s), 0) << load.output();
  const auto report = json::parse(read_file(report_file)).as_object();
  EXPECT_GT(report.at("targets").as_array()[0].as_object().at("messages").to_number<std::int64_t>(), 0);
}

TEST_F(LoadClientTest, WssWithCaFileAndRefusalWithout) {
  const auto certs = make_test_certificates(dir_, {"127.0.0.1"});
  // The server pings first and drops connections that do not answer; every
  // third message comes in two frames.
  PyServer server({"--events", "100", "--cert", certs.cert_file, "--key", certs.key_file, "--skip", "5", "--ping",
                   "--fragment", "3", "--garbage"});
  const std::string url = server.url("/ws/btcusdt@trade", "wss");
  for (const char* reader : {"raw", "beast"}) {
    auto run = run_load({"--url", url, "--reader", reader, "--ca-file", certs.ca_file, "-c", "2", "--messages", "200",
                         "-q"},
                        dir_);
    ASSERT_EQ(run.exit_code, 0) << run.output;
    EXPECT_EQ(integer(target(run), "messages"), 200) << reader;
    EXPECT_EQ(integer(target(run), "lost"), 2) << reader;
    EXPECT_EQ(integer(target(run), "malformed"), 2) << reader;
    EXPECT_EQ(integer(target(run), "errors"), 0) << reader;

    // Without the CA the certificate cannot be verified: every connection fails.
    run = run_load({"--url", url, "--reader", reader, "-c", "2", "-d", "30", "-q"}, dir_);
    EXPECT_EQ(run.exit_code, 1) << run.output;
    EXPECT_EQ(integer(target(run), "connect_errors"), 2) << reader;
    EXPECT_NE(std::string(target(run).at("first_error").as_string()).find("certificate verify failed"),
              std::string::npos)
        << reader << ": " << target(run).at("first_error").as_string();
    EXPECT_NE(run.output.find("no connection could be opened"), std::string::npos);
  }
}

TEST_F(LoadClientTest, WssLargeMessagesAndSubscribe) {
  const auto certs = make_test_certificates(dir_, {"127.0.0.1"});
  PyServer server({"--events", "4", "--array", "4000", "--cert", certs.cert_file, "--key", certs.key_file});
  const auto run = run_load({"--url", server.url("", "wss"), "--subscribe", "--streams", "!miniTicker@arr", "--ca-file",
                             certs.ca_file, "-c", "2", "--messages", "8", "-q"},
                            dir_);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(integer(target(run), "messages"), 8);
  EXPECT_EQ(integer(target(run), "control_messages"), 2);
  EXPECT_GT(integer(target(run), "bytes"), 8 * 256 * 1024);
  EXPECT_EQ(integer(target(run), "errors"), 0);
}

TEST_F(LoadClientTest, DroppedConnectionsStayDownWithoutReconnect) {
  PyServer server({"--events", "50", "--close-after"});
  // The run ends by itself once both connections are gone.
  const auto run = run_load({"--url", server.url("/ws/btcusdt@trade"), "-c", "2", "-d", "60", "-q"}, dir_);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto& t = target(run);
  EXPECT_EQ(integer(t, "messages"), 100);
  EXPECT_EQ(integer(t, "drops"), 2);
  EXPECT_EQ(integer(t, "errors"), 2);
  EXPECT_EQ(integer(t, "reconnects"), 0);
  EXPECT_EQ(integer(t, "connections_up_end"), 0);
  EXPECT_NE(std::string(t.at("first_error").as_string()).find("1001"), std::string::npos);
}

TEST_F(LoadClientTest, EventsRightBeforeAnAbruptEndAreCounted) {
  // Events sent at once after the upgrade, then FIN without a close frame:
  // they often arrive together with the 101 response and the end of stream.
  PyServer server({"--events", "20", "--abort-after"});
  for (const char* reader : {"raw", "beast"}) {
    const auto run = run_load({"--url", server.url("/ws/btcusdt@trade"), "--reader", reader, "-c", "3", "-d", "60",
                               "-q"},
                              dir_);
    ASSERT_EQ(run.exit_code, 0) << run.output;
    EXPECT_EQ(integer(target(run), "messages"), 60) << reader;
    EXPECT_EQ(integer(target(run), "drops"), 3) << reader;
  }
}

// A server that answers the upgrade, its events and the end of the TCP
// stream in one write: the client finds the events in the bytes it read with
// the 101 response, followed at once by end of file.
class OneShotServer {
 public:
  explicit OneShotServer(int events) : acceptor_(ioc_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this, events] {
      boost::asio::ip::tcp::socket socket(ioc_);
      acceptor_.accept(socket);
      boost::asio::streambuf request;
      boost::asio::read_until(socket, request, "\r\n\r\n");
      const std::string head(boost::asio::buffers_begin(request.data()), boost::asio::buffers_end(request.data()));
      const auto at = head.find("Sec-WebSocket-Key: ") + 19;
      const std::string key = head.substr(at, head.find("\r\n", at) - at);
      std::string out =
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Accept: " +
          client::WsHandshake::accept_for(key) + "\r\n\r\n";
      const auto e = std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
      for (int i = 1; i <= events; ++i) {
        const std::string body = R"({"e":"trade","E":)" + std::to_string(e) + R"(,"s":"BTCUSDT","t":)" +
                                 std::to_string(i) + R"(,"p":"1.5"})";
        out.push_back(static_cast<char>(0x81));
        out.push_back(static_cast<char>(body.size()));
        out += body;
      }
      boost::asio::write(socket, boost::asio::buffer(out));
      socket.shutdown(boost::asio::ip::tcp::socket::shutdown_send);
      char sink[256];
      boost::system::error_code ec;
      while (!ec) socket.read_some(boost::asio::buffer(sink), ec);  // until the client has gone
    });
  }
  ~OneShotServer() {
    ioc_.stop();
    if (thread_.joinable()) thread_.join();
  }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }

 private:
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
};

TEST_F(LoadClientTest, EventsArrivingWithTheUpgradeResponseAreCounted) {
  // Few enough that everything fits in the client's first read of the
  // upgrade response (Beast reads 512 bytes at first).
  OneShotServer server(4);
  const auto run = run_load({"--url", "ws://127.0.0.1:" + std::to_string(server.port()) + "/ws/btcusdt@trade", "-c",
                             "1", "-d", "60", "-q"},
                            dir_);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(integer(target(run), "messages"), 4);
  EXPECT_EQ(integer(target(run), "lost"), 0);
  EXPECT_EQ(integer(target(run), "drops"), 1);
}

TEST_F(LoadClientTest, ReconnectReopensDroppedConnections) {
  PyServer server({"--events", "50", "--close-after"});
  const auto run = run_load({"--url", server.url("/ws/btcusdt@trade"), "-c", "2", "--reconnect", "--messages", "300",
                             "-q"},
                            dir_);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto& t = target(run);
  EXPECT_EQ(integer(t, "messages"), 300);
  EXPECT_GE(integer(t, "reconnects"), 2);
  EXPECT_GE(integer(t, "drops"), 2);
  EXPECT_EQ(integer(t, "connect_errors"), 0);
  // Each new connection starts its ids again: no false duplicates or gaps.
  EXPECT_EQ(integer(t, "duplicates"), 0);
  EXPECT_EQ(integer(t, "lost"), 0);
}

// The simulator ends each connection after a fixed number of events, so a
// run at a fixed rate has counts known in advance, whatever the timing.
TEST_F(LoadClientTest, ReportMatchesASimulatorRunWithKnownCounts) {
  const Sim sim = start_sim({"--rate", "2000", "--symbols", "btcusdt,ethusdt", "--drop-after-events", "500"});
  const int connections = 4;
  const int per_connection = 500;
  const auto run = run_load({"--url", sim.url() + "/ws/btcusdt@trade/ethusdt@aggTrade?timeUnit=MICROSECOND", "--impl",
                             "sim", "-c", std::to_string(connections), "-d", "60", "-q"},
                            dir_);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto& t = target(run);
  EXPECT_EQ(t.at("impl").as_string(), "sim");
  EXPECT_EQ(integer(t, "messages"), connections * per_connection);
  EXPECT_EQ(integer(t.at("per_connection").as_object(), "min"), per_connection);
  EXPECT_EQ(integer(t.at("per_connection").as_object(), "max"), per_connection);
  EXPECT_EQ(integer(t, "lost"), 0);
  EXPECT_EQ(integer(t, "duplicates"), 0);
  EXPECT_EQ(integer(t, "malformed"), 0);
  EXPECT_EQ(integer(t, "drops"), connections);
  EXPECT_EQ(integer(t, "reconnects"), 0);
  EXPECT_EQ(integer(t, "connections_up_end"), 0);
  EXPECT_EQ(integer(t.at("latency_ms").as_object(), "samples"), connections * per_connection);
  EXPECT_FALSE(t.at("event_time_in_milliseconds").as_bool());
  EXPECT_GT(integer(t, "bytes"), connections * per_connection * 100);
  EXPECT_GT(t.at("messages_per_second").to_number<double>(), 0);
  EXPECT_EQ(t.at("top_movers").as_array().size(), 2u);
}

// The simulator's dropped-event fault: every 10th event of each stream is
// never sent, and the report counts exactly the ids missing between the
// first and last one each connection saw on each stream.
TEST_F(LoadClientTest, SimulatorSkippedEventsAreCountedAsLost) {
  const Sim sim = start_sim(
      {"--rate", "3000", "--symbols", "btcusdt,ethusdt", "--skip-every", "10", "--drop-after-events", "452"});
  const int connections = 2;
  const int streams = 2 * connections;
  const int received = connections * 452;
  const auto run = run_load({"--url", sim.url() + "/ws/btcusdt@trade/ethusdt@aggTrade?timeUnit=MICROSECOND", "-c",
                             std::to_string(connections), "-d", "60", "-q"},
                            dir_);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto& t = target(run);
  ASSERT_EQ(integer(t, "messages"), received);
  // A stream seen for k ids spans k-1 steps, and one id in ten is missing:
  // (k-1)/9 lost, give or take where the run starts in the cycle.
  const auto lost = integer(t, "lost");
  EXPECT_GE(lost, (received - streams) / 9 - streams);
  EXPECT_LE(lost, (received - streams) / 9 + streams);
  EXPECT_EQ(integer(t, "duplicates"), 0);
}

TEST_F(LoadClientTest, SeveralTargetsSideBySide) {
  PyServer first({"--events", "60", "--close-after"});
  PyServer second({"--events", "60", "--close-after", "--skip", "3"});
  const auto run = run_load({"--url", first.url("/ws/btcusdt@trade"), "--impl", "one", "--url",
                             second.url("/ws/btcusdt@trade"), "--impl", "two", "-c", "2", "-d", "60", "-q"},
                            dir_);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  ASSERT_EQ(run.report.at("targets").as_array().size(), 2u);
  EXPECT_EQ(target(run, 0).at("impl").as_string(), "one");
  EXPECT_EQ(target(run, 1).at("impl").as_string(), "two");
  EXPECT_EQ(integer(target(run, 0), "messages"), 120);
  EXPECT_EQ(integer(target(run, 1), "messages"), 120);
  EXPECT_EQ(integer(target(run, 1), "lost"), 2);
  EXPECT_NEAR(target(run, 1).at("ratio_to_first").as_object().at("messages").to_number<double>(), 1.0, 1e-9);

  // The table puts them side by side.
  ChildProcess table({bin("tickrelay-load"), "--url", first.url("/ws/btcusdt@trade"), "--impl", "one", "--url",
                      second.url("/ws/btcusdt@trade"), "--impl", "two", "-c", "1", "-d", "60", "-q"});
  ASSERT_EQ(table.wait(60s), 0) << table.output();
  const std::string out = table.output();
  // The header row holds the two labels and nothing else, the first first.
  std::istringstream lines(out);
  bool header = false;
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::vector<std::string> tokens{std::istream_iterator<std::string>(words), {}};
    header = header || tokens == std::vector<std::string>{"one", "two"};
  }
  EXPECT_TRUE(header) << out;
  EXPECT_NE(out.find("(1.00x)"), std::string::npos) << out;
}

TEST_F(LoadClientTest, AlertsOncePerSymbolPerCrossing) {
  // Prices climb 0.1 per event from 100.1 to 110: the change against the
  // first price passes 5% once, seen by both connections.
  PyServer server({"--events", "100", "--step", "0.1"});
  ChildProcess load({bin("tickrelay-load"), "--url", server.url("/ws/btcusdt@trade/ethusdt@trade"), "-c", "2",
                     "--messages", "400", "--alert-pct", "5", "-q"});
  ASSERT_EQ(load.wait(60s), 0) << load.output();
  const std::string out = load.output();
  auto count = [&](const std::string& needle) {
    std::size_t n = 0;
    for (auto at = out.find(needle); at != std::string::npos; at = out.find(needle, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("alert: BTCUSDT +5."), 1u) << out;
  EXPECT_EQ(count("alert: ETHUSDT +5."), 1u) << out;
}

TEST_F(LoadClientTest, LiveLinesArePlainWhenNotATerminalAndAbsentWhenQuiet) {
  PyServer server({"--events", "100000", "--interval", "0.01"});
  ChildProcess load({bin("tickrelay-load"), "--url", server.url("/ws/btcusdt@trade"), "-c", "1", "-d", "3"});
  ASSERT_EQ(load.wait(60s), 0) << load.output();
  const std::string out = load.output();
  // One plain line per second, e.g.
  // "[   1.0s] target1: conns 1/1  100 msg/s  p50 0.123 ms  p99 0.456 ms  errors 0".
  const auto status = out.find("[   1.0s] target1: conns 1/1  ");
  ASSERT_NE(status, std::string::npos) << out;
  const std::string line = out.substr(status, out.find('\n', status) - status);
  for (const char* part : {" msg/s  p50 ", " ms  p99 ", " ms  errors 0"}) {
    EXPECT_NE(line.find(part), std::string::npos) << part << " in " << line;
  }
  EXPECT_EQ(out.find('\r'), std::string::npos);
  EXPECT_NE(out.find("messages/s"), std::string::npos);  // the report follows

  ChildProcess quiet({bin("tickrelay-load"), "--url", server.url("/ws/btcusdt@trade"), "-c", "1", "-d", "2", "-q"});
  ASSERT_EQ(quiet.wait(60s), 0);
  EXPECT_EQ(quiet.output().find("msg/s  p50"), std::string::npos) << quiet.output();
}

TEST_F(LoadClientTest, UnreachableTargetIsAnErrorNotAHang) {
  const auto run = run_load({"--url", "ws://127.0.0.1:" + std::to_string(free_port()) + "/ws/x", "-c", "3", "-d", "60",
                             "-q"},
                            dir_);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(integer(target(run), "connect_errors"), 3);
  EXPECT_EQ(integer(target(run), "messages"), 0);
}

TEST(LoadClientArguments, BadArgumentsExitWithCode2) {
  const std::vector<std::vector<std::string>> bad = {
      {},
      {"--url", "http://127.0.0.1:1/ws/x"},
      {"--url", "ws://127.0.0.1:1/ws/x", "-c", "zero"},
      {"--url", "ws://127.0.0.1:1/ws/x", "--format", "yaml"},
      {"--url", "ws://127.0.0.1:1/ws/x", "--no-such-flag"},
      {"--url", "ws://127.0.0.1:1/ws/x", "--output", "/nonexistent/dir/report.json"},
  };
  for (auto args : bad) {
    args.insert(args.begin(), bin("tickrelay-load"));
    ChildProcess load(args);
    EXPECT_EQ(load.wait(30s), 2) << load.output();
    EXPECT_NE(load.output().find("tickrelay-load: "), std::string::npos) << load.output();
    EXPECT_NE(load.output().find("--help"), std::string::npos) << load.output();
  }
  ChildProcess help({bin("tickrelay-load"), "--help"});
  EXPECT_EQ(help.wait(30s), 0);
  EXPECT_NE(help.output().find("--ramp-up"), std::string::npos);
  ChildProcess version({bin("tickrelay-load"), "--version"});
  EXPECT_EQ(version.wait(30s), 0);
  EXPECT_NE(version.output().find("tickrelay-load " TICKRELAY_VERSION), std::string::npos);
}

}  // namespace
}  // namespace tickrelay::test
