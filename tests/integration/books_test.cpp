// Order books against the real simulator: the relay keeps each book from
// the simulator's REST snapshot and diff-depth stream and serves the
// snapshot at Binance's REST paths. A client that follows Binance's own
// procedure against the relay (REST snapshot + the relay's diffs) ends with
// the book the simulator itself serves at the same update id. The follower
// here is the test's own, written from Binance's documentation, not the
// relay's code.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <thread>

#include "process_runner.hpp"
#include "programs.hpp"
#include "ws_test_client.hpp"

namespace tickrelay::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

// A book as Binance's procedure builds it.
class Follower {
 public:
  enum class Rule { spot, futures };
  explicit Follower(Rule rule) : rule_(rule) {}

  // Applies a REST snapshot and the buffered events it does not hold; false
  // when the snapshot is older than the buffer (fetch again).
  bool sync(const std::string& body) {
    const auto snapshot = json::parse(body).as_object();
    bids_.clear();
    asks_.clear();
    set(bids_, snapshot.at("bids").as_array());
    set(asks_, snapshot.at("asks").as_array());
    id_ = snapshot.at("lastUpdateId").as_int64();
    synced_ = true;
    first_ = true;
    auto buffered = std::move(buffer_);
    buffer_.clear();
    for (auto& e : buffered) {
      if (!synced_) {
        buffer_.push_back(std::move(e));
        continue;
      }
      if (!event(e) && first_) return false;
    }
    return synced_;
  }

  // One diff event; false when it shows a break (the book must resync; the
  // event stays buffered for the next snapshot).
  bool event(const json::object& e) {
    if (!synced_) {
      buffer_.push_back(e);
      return true;
    }
    const auto U = e.at("U").as_int64();
    const auto u = e.at("u").as_int64();
    if (rule_ == Rule::spot) {
      if (u <= id_) return true;
      if (U > id_ + 1) return broken(e);
    } else if (first_) {
      if (u < id_) return true;
      if (U > id_) return broken(e);
    } else if (e.at("pu").as_int64() != id_) {
      return broken(e);
    }
    set(bids_, e.at("b").as_array());
    set(asks_, e.at("a").as_array());
    id_ = u;
    first_ = false;
    return true;
  }

  bool synced() const { return synced_; }
  std::int64_t id() const { return id_; }
  int breaks() const { return breaks_; }
  const std::map<double, std::string>& bids() const { return bids_; }
  const std::map<double, std::string>& asks() const { return asks_; }

 private:
  bool broken(const json::object& e) {
    ++breaks_;
    synced_ = false;
    buffer_.clear();
    buffer_.push_back(e);
    return false;
  }
  static void set(std::map<double, std::string>& side, const json::array& levels) {
    for (const auto& level : levels) {
      const auto& pair = level.as_array();
      const std::string price(pair.at(0).as_string());
      const std::string qty(pair.at(1).as_string());
      if (std::stod(qty) == 0)
        side.erase(std::stod(price));
      else
        side[std::stod(price)] = qty;
    }
  }

  Rule rule_;
  std::map<double, std::string> bids_;
  std::map<double, std::string> asks_;
  std::vector<json::object> buffer_;
  std::int64_t id_ = 0;
  bool synced_ = false;
  bool first_ = true;
  int breaks_ = 0;
};

json::object event_of(const std::string& message) {
  auto v = json::parse(message).as_object();
  if (v.contains("data")) return v.at("data").as_object();
  return v;
}

// GET from a chosen source address on loopback (127.0.0.x): the relay holds
// each address to its own request-weight budget.
std::pair<int, std::string> http_get_from(const char* source, unsigned short port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in from{};
  from.sin_family = AF_INET;
  ::inet_pton(AF_INET, source, &from.sin_addr);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    ::close(fd);
    return {0, ""};
  }
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return {0, ""};
  }
  std::string response;
  char buf[65536];
  for (int i = 0; i < 10000; ++i) {
    const auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    response.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  const auto body_at = response.find("\r\n\r\n");
  if (response.size() < 12 || body_at == std::string::npos) return {0, ""};
  return {std::stoi(response.substr(9, 3)), response.substr(body_at + 4)};
}

struct Product {
  const char* name;  // for the config
  const char* rest_path;
  const char* stream;
  Follower::Rule rule;
  const char* relay_path;  // where the relay reads the stream from the simulator
  const char* raw_path;    // the same stream's raw form there
};

void PrintTo(const Product& p, std::ostream* os) { *os << p.name; }

const Product kSpot{"spot", "/api/v3/depth", "btcusdt@depth@100ms", Follower::Rule::spot, "/stream", "/ws/"};
const Product kUsdm{"usdm-futures",          "/fapi/v1/depth", "btcusdt@depth@100ms",
                    Follower::Rule::futures, "/public/stream", "/public/ws/"};

class BooksTest : public ::testing::TestWithParam<Product> {
 protected:
  void start(std::vector<std::string> sim_args, const std::string& books = "snapshot_limit: 1000",
             std::vector<std::string> streams = {}) {
    const auto& p = GetParam();
    sim_args.insert(sim_args.end(), {"--symbols", "btcusdt,ethusdt", "--book-levels", "300"});
    sim_ = start_sim(sim_args);
    if (streams.empty()) streams = {p.stream};
    const std::string base = "127.0.0.1:" + std::to_string(sim_.port);
    relay_ = start_relay(dir_,
                         upstream_yaml("sim",
                                       std::string("url: ws://") + base + "\nproduct: " + p.name +
                                           "\nrest_url: http://" + base + "\nreconnect: { base: 100ms, cap: 500ms }",
                                       streams) +
                             "books:\n  " + books + "\n");
  }
  std::string depth_query(const std::string& symbol, int limit) const {
    return std::string(GetParam().rest_path) + "?symbol=" + symbol + "&limit=" + std::to_string(limit);
  }

  // Follows the procedure against the relay (its diffs and snapshots) and,
  // from the same diffs, against the simulator's snapshots, for `events`
  // events; then the two books must be equal at the same id.
  void follow_and_compare(int events, int& breaks) {
    const auto& p = GetParam();
    Follower relayed(p.rule);
    Follower direct(p.rule);
    WsTestClient client(relay_.ws_url(std::string("/ws/") + p.stream));
    const int limit = p.rule == Follower::Rule::spot ? 5000 : 1000;
    auto fetch = [&](Follower& f, unsigned short port) {
      for (int attempt = 0; attempt < 20 && !f.synced(); ++attempt) {
        const auto [status, body] = http_get(port, depth_query("BTCUSDT", limit));
        ASSERT_EQ(status, 200) << body;
        if (f.sync(body)) return;
      }
      ASSERT_TRUE(f.synced()) << "no snapshot met the buffered events";
    };
    for (int i = 0; i < events; ++i) {
      const auto m = client.read();
      ASSERT_TRUE(m) << "no depth event after " << i;
      const auto e = event_of(*m);
      relayed.event(e);
      direct.event(e);
      // Buffer events first, as Binance's procedure says; half the run, so
      // the relay's snapshot is a book it has kept through many diffs.
      if (i >= events / 2 && !relayed.synced()) fetch(relayed, relay_.client_port);
      if (i >= events / 2 && !direct.synced()) fetch(direct, sim_.port);
      if (::testing::Test::HasFatalFailure()) return;
    }
    ASSERT_TRUE(relayed.synced() && direct.synced());
    ASSERT_EQ(relayed.id(), direct.id());
    EXPECT_FALSE(relayed.bids().empty());
    EXPECT_EQ(relayed.bids(), direct.bids());
    EXPECT_EQ(relayed.asks(), direct.asks());
    breaks = relayed.breaks();
  }

  TempDir dir_;
  Sim sim_;
  Relay relay_;
};

TEST_P(BooksTest, ClientFollowingBinancesProcedureAgainstTheRelayEndsWithTheSimulatorsBook) {
  start({"--rate", "400"});
  int breaks = 0;
  follow_and_compare(300, breaks);
  EXPECT_EQ(breaks, 0);
  EXPECT_EQ(relay_.metric("tickrelay_books_synced"), 1);
  EXPECT_GE(relay_.metric("tickrelay_book_snapshot_requests_total"), 1);
  EXPECT_EQ(relay_.metric("tickrelay_book_resyncs_total", "reason=\"gap\""), 0);
  EXPECT_GT(relay_.metric("tickrelay_book_levels"), 0);
}

TEST_P(BooksTest, DroppedUpstreamResyncsTheBookAndClientsSeeTheBreakInTheIds) {
  // The simulator drops the relay's connection every 1.5 s; the book goes
  // on changing for another subscriber meanwhile, as Binance's would, so
  // the relay's next diff skips ids.
  const auto& p = GetParam();
  start({"--rate", "400", "--drop-every", "1.5", "--fault-target-path", p.relay_path});
  WsTestClient keeps_the_market_moving("ws://127.0.0.1:" + std::to_string(sim_.port) + p.raw_path + p.stream);
  int breaks = 0;
  follow_and_compare(1600, breaks);
  EXPECT_GE(breaks, 1) << "the relay passed on a hole in the ids without the client seeing it";
  EXPECT_GE(relay_.metric("tickrelay_book_resyncs_total", "reason=\"gap\""), 1);
}

TEST_P(BooksTest, SnapshotWaitsForABookStillSyncing) {
  // Each snapshot answer takes 1 s: the client's request waits for the book.
  start({"--rate", "200", "--rest-delay", "1"}, "wait: 5s");
  const auto [status, body] = http_get(relay_.client_port, depth_query("BTCUSDT", 100), 10s);
  ASSERT_EQ(status, 200) << body;
  const auto answer = json::parse(body).as_object();
  EXPECT_GT(answer.at("lastUpdateId").as_int64(), 0);
  EXPECT_LE(answer.at("bids").as_array().size(), 100u);
  EXPECT_EQ(answer.contains("E"), GetParam().rule == Follower::Rule::futures);
}

TEST_P(BooksTest, BadRequestsGetBinancesErrorsAndTheConnectionsAfterThemAreServed) {
  start({"--rate", "200"});
  const auto& p = GetParam();
  auto expect_error = [&](const std::string& query, int code) {
    const auto [status, body] = http_get(relay_.client_port, std::string(p.rest_path) + query);
    EXPECT_EQ(status, 400) << query << " " << body;
    const auto e = json::parse(body).as_object();
    EXPECT_EQ(e.at("code").as_int64(), code) << query;
    EXPECT_FALSE(e.at("msg").as_string().empty());
  };
  expect_error("?symbol=NOPEUSDT", -1121);
  expect_error("?symbol=ETHUSDT", -1121);  // carried by nobody here
  expect_error("?limit=100", -1102);
  expect_error("?symbol=", -1102);
  expect_error("?symbol=BTCUSDT&limit=0", -1100);
  expect_error("?symbol=BTCUSDT&limit=5001", -1100);
  expect_error("?symbol=BTCUSDT&limit=abc", -1100);
  if (p.rule == Follower::Rule::futures) expect_error("?symbol=BTCUSDT&limit=7", -1100);
  ASSERT_TRUE(eventually([&] { return relay_.metric("tickrelay_books_synced") == 1; }));
  const auto [status, body] = http_get(relay_.client_port, depth_query("BTCUSDT", 5));
  EXPECT_EQ(status, 200) << body;
  EXPECT_EQ(json::parse(body).at("asks").as_array().size(), 5u);
  EXPECT_GE(relay_.metric("tickrelay_book_rest_requests_total", "result=\"error\""), 7);
}

TEST_P(BooksTest, AClientPastItsRequestWeightIsRefusedWhileOthersAreServed) {
  start({"--rate", "200"}, "client_weight_per_minute: 100");
  WsTestClient bystander(relay_.ws_url(std::string("/ws/") + GetParam().stream));
  ASSERT_TRUE(eventually([&] { return relay_.metric("tickrelay_books_synced") == 1; }));
  // 127.0.0.2 asks for the deepest snapshot again and again.
  int refused = 0;
  for (int i = 0; i < 50 && refused == 0; ++i) {
    const auto [status, body] = http_get_from("127.0.0.2", relay_.client_port, depth_query("BTCUSDT", 1000));
    if (status == 429) {
      ++refused;
      EXPECT_EQ(json::parse(body).at("code").as_int64(), -1003);
    } else {
      ASSERT_EQ(status, 200) << body;
    }
  }
  EXPECT_EQ(refused, 1);
  // Another address is served, and the stream went on throughout.
  const auto [status, body] = http_get_from("127.0.0.1", relay_.client_port, depth_query("BTCUSDT", 5));
  EXPECT_EQ(status, 200) << body;
  std::int64_t last = -1;
  for (int i = 0; i < 50; ++i) {
    const auto m = bystander.read();
    ASSERT_TRUE(m);
    const auto e = event_of(*m);
    if (last >= 0) {
      if (GetParam().rule == Follower::Rule::spot) {
        EXPECT_EQ(e.at("U").as_int64(), last + 1);
      } else {
        EXPECT_EQ(e.at("pu").as_int64(), last);
      }
    }
    last = e.at("u").as_int64();
  }
  EXPECT_GE(relay_.metric("tickrelay_book_rest_requests_total", "result=\"rate_limited\""), 1);
}

TEST_P(BooksTest, BookOfAStreamTheConfigNoLongerCarriesIsDropped) {
  const auto& p = GetParam();
  start({"--rate", "200"}, "snapshot_limit: 1000", {p.stream, "btcusdt@aggTrade"});
  ASSERT_TRUE(eventually([&] { return relay_.metric("tickrelay_books_synced") == 1; }));
  ASSERT_EQ(http_get(relay_.client_port, depth_query("BTCUSDT", 5)).first, 200);
  // Reloaded without the depth stream: its book goes, the REST path says so.
  const std::string base = "127.0.0.1:" + std::to_string(sim_.port);
  std::ofstream(relay_.config_path) << relay_yaml(
      upstream_yaml("sim", std::string("url: ws://") + base + "\nproduct: " + p.name + "\nrest_url: http://" + base,
                    {"btcusdt@aggTrade"}),
      relay_.client_port, relay_.metrics_port);
  relay_.process->signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return relay_.metric("tickrelay_books") == 0; }));
  const auto [status, body] = http_get(relay_.client_port, depth_query("BTCUSDT", 5));
  EXPECT_EQ(status, 400) << body;
  EXPECT_EQ(json::parse(body).at("code").as_int64(), -1121);
  EXPECT_EQ(relay_.metric("tickrelay_book_levels"), 0);
}

INSTANTIATE_TEST_SUITE_P(Products, BooksTest, ::testing::Values(kSpot, kUsdm),
                         [](const auto& info) { return info.param.rule == Follower::Rule::spot ? "Spot" : "Usdm"; });

// Snapshots come over verified HTTPS, as from Binance: the simulator's
// test certificate is trusted through the upstream's ca_file, and a name
// it was not issued for is refused.
TEST(BooksTls, SnapshotsComeOverVerifiedHttps) {
  TempDir dir;
  const auto certs = make_test_certificates(dir, {"localhost"});
  const auto sim = start_sim({"--rate", "200", "--symbols", "btcusdt"}, &certs);
  const std::string port = std::to_string(sim.port);
  const auto trusted = start_relay(dir, sim_upstream(sim, {"btcusdt@depth@100ms"},
                                                     "tls: { ca_file: " + certs.ca_file +
                                                         " }\nrest_url: https://localhost:" + port));
  // The certificate names localhost only: 127.0.0.1 is another host.
  const auto wrong_name = start_relay(dir, sim_upstream(sim, {"btcusdt@depth@100ms"},
                                                        "tls: { ca_file: " + certs.ca_file +
                                                            " }\nrest_url: https://127.0.0.1:" + port));
  ASSERT_TRUE(eventually([&] { return trusted.metric("tickrelay_books_synced") == 1; }));
  const auto [status, body] = http_get(trusted.client_port, "/fapi/v1/depth?symbol=BTCUSDT&limit=5");
  EXPECT_EQ(status, 200) << body;
  ASSERT_TRUE(eventually([&] { return wrong_name.metric("tickrelay_book_snapshot_failures_total") >= 1; }));
  EXPECT_EQ(wrong_name.metric("tickrelay_books_synced"), 0);
  EXPECT_EQ(wrong_name.metric("tickrelay_upstream_connected"), 1);  // the stream itself is fine
}

// 200 books start at once: the relay's snapshot requests stay within the
// configured weight per minute, measured by the simulator's REST endpoint.
TEST(BooksPacing, TwoHundredBooksNeverExceedTheWeightPerMinute) {
  TempDir dir;
  const std::string pairs = std::string(TICKRELAY_SOURCE_DIR) + "/config/usdt-pairs.txt";
  // The simulator would refuse anything past 550 a minute.
  const auto sim = start_sim(
      {"--rate", "2000", "--symbols-file", pairs, "--book-levels", "50", "--rest-weight-limit", "550"});
  std::vector<std::string> streams;
  std::ifstream in(pairs);
  std::string line;
  while (std::getline(in, line) && streams.size() < 200) {
    auto symbol = line.substr(line.find(':') + 1);
    for (auto& c : symbol) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!symbol.empty()) streams.push_back(symbol + "@depth");
  }
  ASSERT_EQ(streams.size(), 200u);
  const std::string base = "127.0.0.1:" + std::to_string(sim.port);
  // Spot, 100 levels: weight 5 each, 500 a minute, so 100 snapshots now
  // and the next only when the first have aged a minute.
  const auto relay = start_relay(
      dir, upstream_yaml("spot", "url: ws://" + base + "\nproduct: spot\nrest_url: http://" + base, streams) +
               "books:\n  snapshot_limit: 100\n  weight_per_minute: 500\n  max_concurrent_snapshots: 8\n");
  ASSERT_TRUE(eventually([&] { return relay.metric("tickrelay_books_synced") >= 100; }, 30s));
  // A while longer: nothing more may go out within the minute.
  std::this_thread::sleep_for(5s);
  EXPECT_EQ(relay.metric("tickrelay_books"), 200);
  EXPECT_EQ(relay.metric("tickrelay_book_snapshot_requests_total"), 100);
  EXPECT_EQ(relay.metric("tickrelay_books_synced"), 100);
  const auto [status, body] = http_get(sim.port, "/sim/rest-stats");
  ASSERT_EQ(status, 200) << body;
  const auto stats = json::parse(body).as_object();
  EXPECT_LE(stats.at("max_weight_60s").as_int64(), 500);
  EXPECT_EQ(stats.at("refused").as_int64(), 0);
  EXPECT_EQ(stats.at("requests").as_int64(), 100);
}

}  // namespace
}  // namespace tickrelay::test
