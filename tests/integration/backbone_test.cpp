// Beyond one box: two ingest relays on the simulator publish to a cluster of
// three nats-server, two edge relays subscribe, the shipped HAProxy config
// spreads clients over the edges. Real processes on loopback; every client
// checks that aggTrade ids grow by exactly one.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>
#include <fstream>
#include <istream>
#include <optional>
#include <sstream>
#include <thread>

#include "fanout_clients.hpp"
#include "nats_keys.hpp"
#include "process_runner.hpp"
#include "programs.hpp"
#include "ws_test_client.hpp"

namespace tickrelay::test {
namespace {

namespace json = boost::json;

struct NatsNode {
  std::unique_ptr<ChildProcess> process;
  unsigned short port = 0;
  unsigned short monitor_port = 0;
  unsigned short cluster_port = 0;
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port); }
};

// Three nats-server routed to each other (a full mesh), ready once each has
// its two routes.
std::vector<NatsNode> start_nats_cluster(std::size_t count = 3) {
  std::vector<NatsNode> nodes(count);
  for (auto& n : nodes) {
    n.port = free_port();
    n.monitor_port = free_port();
    n.cluster_port = free_port();
  }
  for (std::size_t i = 0; i < count; ++i) {
    std::string routes;
    for (std::size_t j = 0; j < count; ++j) {
      if (j == i) continue;
      routes += (routes.empty() ? "" : ",") + std::string("nats://127.0.0.1:") + std::to_string(nodes[j].cluster_port);
    }
    nodes[i].process = std::make_unique<ChildProcess>(
        std::vector<std::string>{"/usr/sbin/nats-server", "-a", "127.0.0.1", "-p", std::to_string(nodes[i].port), "-m",
                                 std::to_string(nodes[i].monitor_port), "-n", "nats-" + std::to_string(i),
                                 "--cluster_name", "tickrelay", "--cluster",
                                 "nats://127.0.0.1:" + std::to_string(nodes[i].cluster_port), "--routes", routes});
  }
  for (auto& n : nodes) {
    const bool routed = eventually([&] {
      const auto [status, body] = http_get(n.monitor_port, "/routez");
      return status == 200 && json::parse(body).at("num_routes").as_int64() >= static_cast<std::int64_t>(count - 1);
    });
    if (!routed) throw std::runtime_error("nats cluster did not form: " + n.process->output());
  }
  return nodes;
}

// The subjects the connection named `name` has subscribed on `node`.
std::vector<std::string> subscriptions_of(const NatsNode& node, const std::string& name) {
  const auto [status, body] = http_get(node.monitor_port, "/connz?subs=1");
  std::vector<std::string> subjects;
  if (status != 200) return subjects;
  const auto doc = json::parse(body);
  for (const auto& c : doc.at("connections").as_array()) {
    const auto& conn = c.as_object();
    if (!conn.contains("name") || conn.at("name").as_string() != name.c_str()) continue;
    if (!conn.contains("subscriptions_list")) continue;
    for (const auto& s : conn.at("subscriptions_list").as_array()) subjects.emplace_back(s.as_string().c_str());
  }
  return subjects;
}

// The server's view (with its authorization) of the connection named
// `name`, from the monitoring endpoint at `monitor_port`: null when absent.
json::value connection_on(unsigned short monitor_port, const std::string& name) {
  const auto [status, body] = http_get(monitor_port, "/connz?auth=1");
  if (status != 200) return nullptr;
  const auto doc = json::parse(body);
  for (const auto& c : doc.at("connections").as_array()) {
    const auto& conn = c.as_object();
    if (conn.contains("name") && conn.at("name").as_string() == name.c_str()) return c;
  }
  return nullptr;
}

bool has_subject(const std::vector<std::string>& subjects, const std::string& subject) {
  return std::find(subjects.begin(), subjects.end(), subject) != subjects.end();
}

std::string nats_urls(const std::vector<NatsNode>& nodes, std::vector<std::size_t> order) {
  std::string urls;
  for (const auto i : order) urls += (urls.empty() ? "" : ", ") + std::string("\"") + nodes[i].url() + "\"";
  return "[" + urls + "]";
}

std::string backbone_yaml(const std::string& urls, const std::string& name, bool publish) {
  return "backbone:\n  nats:\n    urls: " + urls + "\n    name: " + name +
         "\n    publish: " + (publish ? "true" : "false") +
         "\n    unsubscribe_grace: 200ms\n    source_timeout: 1s\n    reconnect_wait: 100ms\n";
}

const std::vector<std::string> kStreams = {"btcusdt@aggTrade", "ethusdt@aggTrade", "btcusdt@kline_1m"};

std::string edge_upstream() {
  return upstream_yaml("backbone", "type: nats\nproduct: usdm-futures\ntime_unit: microsecond", kStreams);
}

// The shipped deploy/haproxy/haproxy.cfg with this test's addresses: the
// listeners on loopback ports, the edges' server lines, and what needs a
// system install (the haproxy user, /run/haproxy, syslog) left out.
std::string haproxy_config(unsigned short port, unsigned short stats_port, const std::vector<const Relay*>& edges) {
  std::ifstream in(std::string(TICKRELAY_SOURCE_DIR) + "/deploy/haproxy/haproxy.cfg");
  if (!in) throw std::runtime_error("deploy/haproxy/haproxy.cfg is missing");
  std::ostringstream out;
  std::string line;
  bool servers_written = false;
  while (std::getline(in, line)) {
    const auto first = line.find_first_not_of(" \t");
    const std::string_view text = first == std::string::npos ? std::string_view{}
                                                             : std::string_view(line).substr(first);
    if (text.starts_with("user ") || text.starts_with("group ") || text.starts_with("stats socket") ||
        text.starts_with("log ") || text.starts_with("option httplog"))
      continue;
    // The test's descriptor limit, not a production box's.
    if (text.starts_with("maxconn ")) {
      out << "    maxconn 1000\n";
      continue;
    }
    if (text.starts_with("bind :")) {
      out << "    bind 127.0.0.1:" << port << "\n";
      continue;
    }
    if (text.starts_with("bind 127.0.0.1:")) {
      out << "    bind 127.0.0.1:" << stats_port << "\n";
      continue;
    }
    if (text.starts_with("server ")) {
      if (servers_written) continue;
      servers_written = true;
      // "server NAME ADDRESS OPTIONS...": the shipped options, with each
      // edge's own metrics port after "port ".
      std::istringstream words{std::string(text)};
      std::string keyword, name, address;
      words >> keyword >> name >> address;
      std::string options;
      std::getline(words, options);
      for (std::size_t i = 0; i < edges.size(); ++i) {
        std::string mine = options;
        if (const auto at = mine.find("port "); at != std::string::npos) {
          const auto digits = at + 5;
          const auto end = mine.find_first_not_of("0123456789", digits);
          mine.replace(digits, (end == std::string::npos ? mine.size() : end) - digits,
                       std::to_string(edges[i]->metrics_port));
        }
        out << "    server edge-" << i << " 127.0.0.1:" << edges[i]->client_port << mine << "\n";
      }
      continue;
    }
    out << line << "\n";
  }
  if (!servers_written) throw std::runtime_error("deploy/haproxy/haproxy.cfg names no server");
  return out.str();
}

// Whether HAProxy's stats CSV shows backend server `name` UP.
bool server_up(const std::string& csv, const std::string& name) {
  std::istringstream lines(csv);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.find("," + name + ",") != std::string::npos && line.find(",UP,") != std::string::npos) return true;
  }
  return false;
}

class BackboneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    nats_ = start_nats_cluster();
    sim_ = start_sim({"--rate", "400", "--symbols", "btcusdt,ethusdt"});
    // Each ingest and edge starts on a node of its own where it can.
    ingest_a_ = start_ingest("ingest-a", {0, 1, 2});
    ingest_b_ = start_ingest("ingest-b", {1, 2, 0});
    edge_a_ = start_relay(dir_, edge_upstream() + backbone_yaml(nats_urls(nats_, {0, 1, 2}), "edge-a", false));
    edge_b_ = start_relay(dir_, edge_upstream() + backbone_yaml(nats_urls(nats_, {2, 1, 0}), "edge-b", false));
  }

  Relay start_ingest(const std::string& name, std::vector<std::size_t> order) {
    return start_relay(dir_, sim_upstream(sim_, kStreams) + backbone_yaml(nats_urls(nats_, order), name, true));
  }

  void start_haproxy() {
    haproxy_port_ = free_port();
    const auto stats = free_port();
    const auto path = dir_.write("haproxy.cfg", haproxy_config(haproxy_port_, stats, {&edge_a_, &edge_b_}));
    haproxy_ = std::make_unique<ChildProcess>(std::vector<std::string>{"/usr/sbin/haproxy", "-db", "-f", path});
    // Up once both edges pass their health check.
    ASSERT_TRUE(eventually([&] {
      const auto [status, body] = http_get(stats, "/stats;csv");
      return status == 200 && server_up(body, "edge-0") && server_up(body, "edge-1");
    })) << haproxy_->output();
  }

  void stop_an_edge_behind_haproxy(int sig, std::optional<int> close_code);

  // HAProxy as Debian's unit runs it: a master process (-W) whose SIGUSR2
  // reloads the configuration into a new worker, the old worker keeping
  // its tunnels.
  void start_haproxy_master() {
    haproxy_port_ = free_port();
    haproxy_stats_ = free_port();
    haproxy_cfg_ = dir_.write("haproxy.cfg", haproxy_config(haproxy_port_, haproxy_stats_, {&edge_a_, &edge_b_}));
    haproxy_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{"/usr/sbin/haproxy", "-W", "-db", "-f", haproxy_cfg_});
    ASSERT_TRUE(eventually([&] {
      const auto [status, body] = http_get(haproxy_stats_, "/stats;csv");
      return status == 200 && server_up(body, "edge-0") && server_up(body, "edge-1");
    })) << haproxy_->output();
  }

  std::string via_haproxy(const std::string& path) const {
    return "ws://127.0.0.1:" + std::to_string(haproxy_port_) + path;
  }

  TempDir dir_;
  std::vector<NatsNode> nats_;
  Sim sim_;
  Relay ingest_a_, ingest_b_, edge_a_, edge_b_;
  std::unique_ptr<ChildProcess> haproxy_;
  unsigned short haproxy_port_ = 0;
  unsigned short haproxy_stats_ = 0;
  std::string haproxy_cfg_;
};

TEST_F(BackboneTest, EveryClientThroughHaproxyGetsEveryEventOnceAndTheIngestCopiesAreDeduplicated) {
  start_haproxy();
  FanoutClients clients(via_haproxy("/ws/btcusdt@aggTrade"), 20, "a");
  ASSERT_TRUE(clients.run_until_each_has(1500, std::chrono::seconds(60)));
  expect_every_event(clients);
  // leastconn spread the clients over both edges.
  EXPECT_GT(edge_a_.metric("tickrelay_clients_connected"), 0);
  EXPECT_GT(edge_b_.metric("tickrelay_clients_connected"), 0);
  // Both ingest relays published every event; each edge kept one copy.
  EXPECT_GT(ingest_a_.metric("tickrelay_backbone_published_messages_total"), 0);
  EXPECT_GT(ingest_b_.metric("tickrelay_backbone_published_messages_total"), 0);
  EXPECT_GT(edge_a_.metric("tickrelay_backbone_duplicates_total"), 0);
  EXPECT_EQ(edge_a_.metric("tickrelay_backbone_connected"), 1);
}

TEST_F(BackboneTest, KillingAnIngestRelayLosesAndRepeatsNothing) {
  FanoutClients clients(edge_a_.ws_url("/ws/btcusdt@aggTrade"), 10, "a");
  ASSERT_TRUE(clients.run_until_each_has(500, std::chrono::seconds(60)));
  ingest_a_.process->signal(SIGKILL);
  // The edge had taken its copy of each event from whichever ingest relay
  // was first; the other's copies carry on.
  const auto before = clients.tallies().front().messages;
  ASSERT_TRUE(clients.run_until_each_has(before + 2000, std::chrono::seconds(60)));
  expect_every_event(clients);
  EXPECT_EQ(edge_a_.metric("tickrelay_upstream_gaps_total", "stream_type=\"aggTrade\""), 0);
}

TEST_F(BackboneTest, KillingTheNatsNodeOfAnEdgeMovesItToAnotherAndItsGapsAreCounted) {
  FanoutClients clients(edge_a_.ws_url("/ws/btcusdt@aggTrade"), 5, "a");
  ASSERT_TRUE(clients.run_until_each_has(500, std::chrono::seconds(60)));
  ASSERT_FALSE(subscriptions_of(nats_[0], "edge-a").empty()) << "edge-a is not on node 0";
  nats_[0].process->signal(SIGKILL);
  const auto before = clients.tallies().front().messages;
  ASSERT_TRUE(clients.run_until_each_has(before + 1500, std::chrono::seconds(60)));
  EXPECT_GE(edge_a_.metric("tickrelay_backbone_reconnects_total"), 1);
  EXPECT_EQ(edge_a_.metric("tickrelay_backbone_connected"), 1);
  // Core NATS is at most once: what the edge missed while it reconnected is
  // lost. Clients see it as jumps in ids, never as repeats, and the edge's
  // gap counter shows every jump they saw.
  std::uint64_t jumps = 0;
  std::int64_t lost = 0;
  for (const auto& t : clients.tallies()) {
    EXPECT_FALSE(t.closed);
    EXPECT_EQ(t.duplicates, 0u);
    jumps = std::max(jumps, t.gaps);
    lost = std::max<std::int64_t>(lost, t.last_id - t.first_id + 1 - static_cast<std::int64_t>(t.messages));
  }
  const auto edge_gaps = edge_a_.metric("tickrelay_upstream_gaps_total", "stream_type=\"aggTrade\"");
  EXPECT_GE(edge_gaps, static_cast<double>(jumps));
  RecordProperty("events_lost_in_switch", std::to_string(lost));
  RecordProperty("id_jumps_in_switch", std::to_string(jumps));
  std::cout << "nats node kill: events lost per client " << lost << " in " << jumps << " jump(s); edge gaps "
            << edge_gaps << "\n";
}

// Eight clients through HAProxy; edge-a gets `sig`. Its clients see their
// connection end (with `close_code` when given) and connect again, as a
// Binance client does: each lands on edge-b and resumes. New clients never
// reach edge-a.
void BackboneTest::stop_an_edge_behind_haproxy(int sig, std::optional<int> close_code) {
  start_haproxy();
  std::vector<std::unique_ptr<WsTestClient>> clients;
  for (int i = 0; i < 8; ++i) {
    clients.push_back(std::make_unique<WsTestClient>(via_haproxy("/ws/btcusdt@aggTrade")));
    ASSERT_TRUE(clients.back()->read());
  }
  const auto on_a = edge_a_.metric("tickrelay_clients_connected");
  ASSERT_GT(on_a, 0) << "leastconn put no client on edge-a";
  edge_a_.process->signal(sig);
  ASSERT_TRUE(eventually([&] { return !edge_a_.process->running(); }));
  // Read what each client has queued: those of edge-a reach their end,
  // those of edge-b keep receiving (so the walk is bounded by a deadline).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (std::chrono::steady_clock::now() < deadline) {
    for (auto& c : clients) {
      if (!c->closed()) c->read(std::chrono::milliseconds(10));
    }
  }
  std::size_t reconnected = 0;
  for (auto& c : clients) {
    if (!c->closed()) continue;
    if (close_code) {
      EXPECT_EQ(c->close_code(), *close_code) << "how edge-a said goodbye";
    }
    c = std::make_unique<WsTestClient>(via_haproxy("/ws/btcusdt@aggTrade"));
    ASSERT_TRUE(c->read()) << "a client of edge-a could not resume";
    ++reconnected;
  }
  EXPECT_EQ(reconnected, static_cast<std::size_t>(on_a));
  for (int i = 0; i < 8; ++i) {
    WsTestClient fresh(via_haproxy("/ws/btcusdt@aggTrade"));
    ASSERT_TRUE(fresh.read()) << "new client " << i;
  }
  EXPECT_TRUE(eventually([&] { return edge_b_.metric("tickrelay_clients_connected") == 8; }));
}

TEST_F(BackboneTest, KillingAnEdgeMovesItsClientsThroughHaproxyToTheOther) {
  stop_an_edge_behind_haproxy(SIGKILL, std::nullopt);
}

TEST_F(BackboneTest, AnEdgeStoppedWithSigtermDrainsThroughHaproxyAndNewClientsGoToTheOther) {
  // A reload or a stop: the edge refuses new clients at once, and closes
  // its own with 1001 going away after their queues drain.
  stop_an_edge_behind_haproxy(SIGTERM, 1001);
}

TEST_F(BackboneTest, AHaproxyReloadThatTakesAnEdgeOutKeepsEveryTunnelAndSendsNewClientsToTheOther) {
  start_haproxy_master();
  FanoutClients clients(via_haproxy("/ws/btcusdt@aggTrade"), 10, "a");
  ASSERT_TRUE(clients.run_until_each_has(300, std::chrono::seconds(60)));
  const auto on_a = edge_a_.metric("tickrelay_clients_connected");
  const auto on_b = edge_b_.metric("tickrelay_clients_connected");
  ASSERT_GT(on_a, 0) << "leastconn put no client on edge-a";
  // The operator takes edge-a out of the file and reloads under traffic.
  dir_.write("haproxy.cfg", haproxy_config(haproxy_port_, haproxy_stats_, {&edge_b_}));
  haproxy_->signal(SIGUSR2);
  // The new worker has the port and knows only edge-b (named edge-0 now).
  ASSERT_TRUE(eventually([&] {
    const auto [status, body] = http_get(haproxy_stats_, "/stats;csv");
    return status == 200 && server_up(body, "edge-0") && body.find(",edge-1,") == std::string::npos;
  })) << haproxy_->output();
  // Every tunnel, through the old worker, goes on without a hole or a
  // repeat, edge-a's included.
  const auto before = clients.tallies().front().messages;
  ASSERT_TRUE(clients.run_until_each_has(before + 1000, std::chrono::seconds(60)));
  expect_every_event(clients);
  for (const auto& t : clients.tallies()) EXPECT_FALSE(t.closed);
  EXPECT_EQ(edge_a_.metric("tickrelay_clients_connected"), on_a);
  // New clients reach edge-b only.
  std::vector<std::unique_ptr<WsTestClient>> fresh;
  for (int i = 0; i < 6; ++i) {
    fresh.push_back(std::make_unique<WsTestClient>(via_haproxy("/ws/btcusdt@aggTrade")));
    ASSERT_TRUE(fresh.back()->read()) << "new client " << i;
  }
  EXPECT_EQ(edge_a_.metric("tickrelay_clients_connected"), on_a);
  EXPECT_TRUE(eventually([&] { return edge_b_.metric("tickrelay_clients_connected") == on_b + 6; }));
  EXPECT_TRUE(haproxy_->running());
}

TEST_F(BackboneTest, AnEdgeSubscribesOnlyToWhatItsClientsWant) {
  // Nobody asked yet: no stream subject is subscribed.
  auto subjects = subscriptions_of(nats_[0], "edge-a");
  EXPECT_FALSE(has_subject(subjects, "tickrelay.usdm.btcusdt.aggTrade"));
  {
    WsTestClient client(edge_a_.ws_url("/ws/btcusdt@aggTrade"));
    ASSERT_TRUE(client.read());
    subjects = subscriptions_of(nats_[0], "edge-a");
    EXPECT_TRUE(has_subject(subjects, "tickrelay.usdm.btcusdt.aggTrade"));
    EXPECT_FALSE(has_subject(subjects, "tickrelay.usdm.ethusdt.aggTrade"));
    EXPECT_FALSE(has_subject(subjects, "tickrelay.usdm.btcusdt.kline_1m"));
    EXPECT_EQ(edge_a_.metric("tickrelay_backbone_subscriptions"), 1);
  }
  // The last client left: after the grace period the subject goes.
  EXPECT_TRUE(eventually(
      [&] { return !has_subject(subscriptions_of(nats_[0], "edge-a"), "tickrelay.usdm.btcusdt.aggTrade"); }));
  EXPECT_EQ(edge_a_.metric("tickrelay_backbone_subscriptions"), 0);
}

TEST_F(BackboneTest, AFirstSubscriberGetsTheLatestValueWhileNothingIsPublished) {
  // The ingest relays hold a kline each; then the simulator goes quiet.
  ASSERT_TRUE(eventually([&] { return ingest_a_.metric("tickrelay_upstream_messages_total") > 200; }));
  sim_.process->signal(SIGSTOP);
  const auto published_now = [&] {
    return ingest_a_.metric("tickrelay_backbone_published_messages_total") +
           ingest_b_.metric("tickrelay_backbone_published_messages_total");
  };
  // What was in flight is published; then nothing more is.
  double published = 0;
  ASSERT_TRUE(eventually([&] {
    published = published_now();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    return published_now() == published;
  }));
  WsTestClient client(edge_b_.ws_url("/ws/btcusdt@kline_1m"));
  const auto m = client.read();
  const auto published_after = published_now();
  sim_.process->signal(SIGCONT);
  ASSERT_TRUE(m) << "no latest value";
  EXPECT_NE(m->find("\"e\":\"kline\""), std::string::npos) << *m;
  EXPECT_EQ(published_after, published) << "the value came from a published event, not from the request";
  EXPECT_GE(edge_b_.metric("tickrelay_backbone_last_value_requests_total"), 1);
  EXPECT_GE(ingest_a_.metric("tickrelay_backbone_last_value_answers_total") +
                ingest_b_.metric("tickrelay_backbone_last_value_answers_total"),
            1);
}

}  // namespace
}  // namespace tickrelay::test

namespace tickrelay::test {
namespace {

// A rogue publisher on the backbone, speaking NATS' text protocol itself:
// what it sends on a stream's subject is an upstream message like any other.
class RawNatsPublisher {
 public:
  explicit RawNatsPublisher(unsigned short port) : socket_(ioc_) {
    socket_.connect({boost::asio::ip::make_address("127.0.0.1"), port});
    send("CONNECT {\"verbose\":false,\"name\":\"rogue\"}\r\n");
  }
  void publish(const std::string& subject, const std::string& reply, const std::string& payload) {
    send("PUB " + subject + (reply.empty() ? "" : " " + reply) + " " + std::to_string(payload.size()) + "\r\n" +
         payload + "\r\n");
  }
  // PING answered by PONG: everything before it reached the server.
  void flush() {
    send("PING\r\n");
    boost::asio::streambuf buffer;
    for (;;) {
      boost::asio::read_until(socket_, buffer, "\r\n");
      std::istream in(&buffer);
      std::string line;
      std::getline(in, line);
      if (line.starts_with("PONG")) return;
    }
  }

 private:
  void send(const std::string& text) { boost::asio::write(socket_, boost::asio::buffer(text)); }
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::socket socket_;
};

TEST_F(BackboneTest, MalformedMessagesAndThousandsOfSourcesOnTheBackboneAreSkippedAndBystandersGetEveryEvent) {
  FanoutClients bystanders(edge_a_.ws_url("/ws/btcusdt@aggTrade"), 3, "a");
  ASSERT_TRUE(bystanders.run_until_each_has(300, std::chrono::seconds(60)));
  RawNatsPublisher rogue(nats_[0].port);
  const std::vector<std::string> garbage = {
      "not json",
      "{\"stream\":\"btcusdt@aggTrade\"",
      "{\"result\":null,\"id\":1}",
      "",
      "{\"stream\":\"btcusdt@aggTrade\",\"data\":{\"e\":\"aggTrade\"},\"data\":{}}",
      std::string(4096, '['),
  };
  // Every message from a source of its own: the edge keeps a bounded list.
  constexpr int kMessages = 3000;
  for (int i = 0; i < kMessages; ++i)
    rogue.publish("tickrelay.usdm.btcusdt.aggTrade", "rogue-" + std::to_string(i), garbage[i % garbage.size()]);
  rogue.flush();
  const auto before = bystanders.tallies().front().messages;
  ASSERT_TRUE(bystanders.run_until_each_has(before + 1000, std::chrono::seconds(60)));
  expect_every_event(bystanders);
  // The answer-shaped and empty ones are not events either; all are counted.
  EXPECT_TRUE(eventually([&] {
    return edge_a_.metric("tickrelay_upstream_malformed_total") >= kMessages * 4.0 / garbage.size();
  })) << edge_a_.metric("tickrelay_upstream_malformed_total");
  EXPECT_EQ(http_get(edge_a_.metrics_port, "/healthz").first, 200);
  EXPECT_TRUE(edge_a_.process->running());
}

}  // namespace
}  // namespace tickrelay::test

namespace tickrelay::test {
namespace {

// What deploy/README.md tells operators to allow each role: only ingest
// relays publish on the stream subjects.
const std::string kIngestPermissions =
    "{publish: [\"tickrelay.>\", \"_INBOX.>\"], subscribe: [\"tickrelay-last.>\", \"_INBOX.>\"]}";
const std::string kEdgePermissions =
    "{publish: [\"tickrelay-last.>\", \"_INBOX.>\"], subscribe: [\"tickrelay.>\", \"_INBOX.>\"]}";

// One nats-server that wants TLS with client certificates and a password
// per user, with the permissions of each role: the backbone as it runs
// across machines.
class BackboneSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_certs_ = make_test_certificates(dir_, {"localhost"}, "nats");
    client_certs_ = make_test_certificates(dir_, {"tickrelay"}, "client");
    port_ = free_port();
    monitor_port_ = free_port();
    const auto conf = dir_.write("nats.conf",
                                 "listen: 127.0.0.1:" + std::to_string(port_) +
                                     "\nhttp: 127.0.0.1:" + std::to_string(monitor_port_) + "\ntls {\n  cert_file: \"" +
                                     server_certs_.cert_file + "\"\n  key_file: \"" + server_certs_.key_file +
                                     "\"\n  ca_file: \"" + client_certs_.ca_file +
                                     "\"\n  verify: true\n  timeout: 2\n}\n"
                                     "authorization {\n  users = [\n"
                                     "    {user: ingest, password: ingest-s3cret, permissions: " +
                                     kIngestPermissions + "}\n    {user: edge, password: edge-s3cret, permissions: " +
                                     kEdgePermissions + "}\n  ]\n}\n");
    nats_ = std::make_unique<ChildProcess>(std::vector<std::string>{"/usr/sbin/nats-server", "-c", conf});
    ASSERT_TRUE(eventually([&] { return http_get(monitor_port_, "/varz").first == 200; })) << nats_->output();
    sim_ = start_sim({"--rate", "400", "--symbols", "btcusdt,ethusdt"});
  }

  // The backbone section of a relay on this server: `url` (tls://... or
  // nats://...), then `extra` lines under backbone.nats.
  std::string backbone(const std::string& url, const std::string& name, bool publish, const std::string& extra) const {
    std::string out = backbone_yaml("[\"" + url + "\"]", name, publish);
    std::istringstream lines(extra);
    for (std::string line; std::getline(lines, line);) out += "    " + line + "\n";
    return out;
  }
  std::string tls_url() const { return "tls://127.0.0.1:" + std::to_string(port_); }
  // What a relay that trusts the server and holds a client certificate says.
  std::string trusted_tls(const std::string& user, const std::string& password) const {
    return "user: " + user + "\npassword: " + password + "\ntls:\n  ca_file: " + server_certs_.ca_file +
           "\n  cert_file: " + client_certs_.cert_file + "\n  key_file: " + client_certs_.key_file +
           "\n  server_name: localhost\n";
  }

  Relay start_trusted_ingest() {
    return start_relay(dir_, sim_upstream(sim_, kStreams) +
                                 backbone(tls_url(), "ingest-s", true, trusted_tls("ingest", "ingest-s3cret")));
  }
  // An edge on tls_url() with `extra` under backbone.nats.
  Relay start_edge(const std::string& name, const std::string& extra, bool wait_healthy = true) {
    return start_relay(dir_, edge_upstream() + backbone(tls_url(), name, false, extra), "", wait_healthy);
  }

  json::value connection(const std::string& name) const { return connection_on(monitor_port_, name); }

  TempDir dir_;
  TestCertificates server_certs_, client_certs_;
  unsigned short port_ = 0, monitor_port_ = 0;
  std::unique_ptr<ChildProcess> nats_;
  Sim sim_;
};

TEST_F(BackboneSecurityTest, TlsWithClientCertificatesAndPasswordsCarriesEveryEvent) {
  const auto ingest = start_trusted_ingest();
  const auto edge = start_edge("edge-s", trusted_tls("edge", "edge-s3cret"));
  FanoutClients clients(edge.ws_url("/ws/btcusdt@aggTrade"), 5, "a");
  ASSERT_TRUE(clients.run_until_each_has(500, std::chrono::seconds(60)));
  expect_every_event(clients);
  EXPECT_EQ(edge.metric("tickrelay_backbone_connected"), 1);
  for (const auto& [name, user] : {std::pair{"ingest-s", "ingest"}, std::pair{"edge-s", "edge"}}) {
    const auto conn = connection(name);
    ASSERT_TRUE(conn.is_object()) << name << " is not connected";
    EXPECT_FALSE(conn.at("tls_version").as_string().empty()) << name;
    EXPECT_EQ(conn.at("authorized_user").as_string(), user);
  }
  // The role permissions of deploy/README.md refused nothing either did.
  for (const auto* relay : {&ingest, &edge})
    EXPECT_EQ(relay->process->output().find("backbone error="), std::string::npos) << relay->process->output();
}

TEST_F(BackboneSecurityTest, RefusedCredentialsOrCertificatesLeaveTheRelayUnreadyAndSayWhy) {
  // A bystander pair that is let in keeps delivering while the others fail.
  const auto ingest = start_trusted_ingest();
  const auto good = start_edge("edge-ok", trusted_tls("edge", "edge-s3cret"));
  FanoutClients bystanders(good.ws_url("/ws/btcusdt@aggTrade"), 2, "a");
  ASSERT_TRUE(bystanders.run_until_each_has(100, std::chrono::seconds(60)));

  const std::string certs = "\n  cert_file: " + client_certs_.cert_file + "\n  key_file: " + client_certs_.key_file;
  struct Case {
    std::string what;
    std::string url;
    std::string extra;
  };
  const std::vector<Case> cases = {
      {"wrong password", tls_url(), trusted_tls("edge", "guess")},
      {"a CA that did not sign the server's certificate", tls_url(),
       "user: edge\npassword: edge-s3cret\ntls:\n  ca_file: " + client_certs_.ca_file + certs +
           "\n  server_name: localhost\n"},
      {"a name the server's certificate does not carry", tls_url(),
       "user: edge\npassword: edge-s3cret\ntls:\n  ca_file: " + server_certs_.ca_file + certs +
           "\n  server_name: nats.example\n"},
      {"the URL's own address, which the certificate does not carry", tls_url(),
       "user: edge\npassword: edge-s3cret\ntls:\n  ca_file: " + server_certs_.ca_file + certs + "\n"},
      {"no client certificate", tls_url(),
       "user: edge\npassword: edge-s3cret\ntls:\n  ca_file: " + server_certs_.ca_file + "\n  server_name: localhost\n"},
      {"no TLS", "nats://127.0.0.1:" + std::to_string(port_), "user: edge\npassword: edge-s3cret\n"},
  };
  int index = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    const std::string name = "edge-refused-" + std::to_string(index++);
    const auto edge = start_relay(dir_, edge_upstream() + backbone(c.url, name, false, c.extra), "", false);
    EXPECT_TRUE(eventually([&] {
      const auto [status, body] = http_get(edge.metrics_port, "/healthz");
      return status == 503 && body.find("backbone is not connected") != std::string::npos;
    }));
    EXPECT_EQ(edge.metric("tickrelay_backbone_connected"), 0);
    EXPECT_TRUE(connection(name).is_null()) << "the server let it in";
    EXPECT_TRUE(edge.process->running());
    EXPECT_NE(edge.process->output().find("backbone connecting in the background"), std::string::npos)
        << edge.process->output();
    // Its clients are served what it has: nothing, and no error.
    WsTestClient client(edge.ws_url("/ws/btcusdt@aggTrade"));
    EXPECT_FALSE(client.read(std::chrono::milliseconds(300)));
    EXPECT_FALSE(client.closed());
  }
  const auto before = bystanders.tallies().front().messages;
  ASSERT_TRUE(bystanders.run_until_each_has(before + 300, std::chrono::seconds(60)));
  expect_every_event(bystanders);
}

TEST_F(BackboneSecurityTest, AnEdgeWhosePasswordWasRefusedConnectsOnceTheServerAcceptsIt) {
  const auto ingest = start_trusted_ingest();
  const auto edge = start_edge("edge-new", trusted_tls("edge", "rotated"), false);
  // A client while the server still refuses: nats.c gives such a
  // connection up; the edge keeps its stream wanted and tries again.
  FanoutClients clients(edge.ws_url("/ws/btcusdt@aggTrade"), 2, "a");
  ASSERT_TRUE(eventually([&] {
    return edge.process->output().find("backbone connection given up") != std::string::npos;
  })) << edge.process->output();
  EXPECT_TRUE(connection("edge-new").is_null());
  // The operator gives the server the new password and reloads it.
  auto conf = read_file(dir_.file("nats.conf"));
  const std::string password = "password: edge-s3cret";
  conf.replace(conf.find(password), password.size(), "password: rotated");
  dir_.write("nats.conf", conf);
  nats_->signal(SIGHUP);
  ASSERT_TRUE(clients.run_until_each_has(300, std::chrono::seconds(60))) << edge.process->output();
  expect_every_event(clients);
  EXPECT_EQ(http_get(edge.metrics_port, "/healthz").first, 200);
  EXPECT_EQ(connection("edge-new").at("authorized_user").as_string(), "edge");
}

TEST(BackboneToken, AServerWithATokenLetsInOnlyTheRelaysThatGiveIt) {
  TempDir dir;
  const auto port = free_port();
  const auto monitor = free_port();
  ChildProcess nats({"/usr/sbin/nats-server", "-a", "127.0.0.1", "-p", std::to_string(port), "-m",
                     std::to_string(monitor), "--auth", "backbone-t0ken"});
  ASSERT_TRUE(eventually([&] { return http_get(monitor, "/varz").first == 200; })) << nats.output();
  const auto sim = start_sim({"--rate", "400", "--symbols", "btcusdt,ethusdt"});
  const std::string url = "[\"nats://127.0.0.1:" + std::to_string(port) + "\"]";
  const auto ingest = start_relay(dir, sim_upstream(sim, kStreams) + backbone_yaml(url, "ingest-t", true) +
                                           "    token: backbone-t0ken\n");
  const auto refused = start_relay(dir,
                                   edge_upstream() + backbone_yaml(url, "edge-wrong", false) + "    token: guess\n", "",
                                   false);
  const auto edge = start_relay(dir,
                                edge_upstream() + backbone_yaml(url, "edge-t", false) + "    token: backbone-t0ken\n");
  FanoutClients clients(edge.ws_url("/ws/btcusdt@aggTrade"), 3, "a");
  ASSERT_TRUE(clients.run_until_each_has(300, std::chrono::seconds(60)));
  expect_every_event(clients);
  EXPECT_EQ(refused.metric("tickrelay_backbone_connected"), 0);
  EXPECT_EQ(http_get(refused.metrics_port, "/healthz").first, 503);
  EXPECT_TRUE(refused.process->running());
}

}  // namespace
}  // namespace tickrelay::test

namespace tickrelay::test {
namespace {

// The backbone with NATS' key-based identities: one nats-server with NKey
// users, or in operator mode with accounts and user JWTs (the `.creds`
// files `nsc` writes). Keys and JWTs are made here as NATS' tools make them.
class BackboneKeysTest : public ::testing::Test {
 protected:
  void SetUp() override { sim_ = start_sim({"--rate", "400", "--symbols", "btcusdt,ethusdt"}); }

  void start_nats(const std::string& auth) {
    port_ = free_port();
    monitor_port_ = free_port();
    const auto conf = dir_.write("nats.conf", "listen: 127.0.0.1:" + std::to_string(port_) +
                                                  "\nhttp: 127.0.0.1:" + std::to_string(monitor_port_) + "\n" + auth);
    nats_ = std::make_unique<ChildProcess>(std::vector<std::string>{"/usr/sbin/nats-server", "-c", conf});
    ASSERT_TRUE(eventually([&] { return http_get(monitor_port_, "/varz").first == 200; })) << nats_->output();
  }

  std::string backbone(const std::string& name, bool publish, const std::string& auth) const {
    return backbone_yaml("[\"nats://127.0.0.1:" + std::to_string(port_) + "\"]", name, publish) + auth;
  }
  Relay start_ingest(const std::string& auth) {
    return start_relay(dir_, sim_upstream(sim_, kStreams) + backbone("ingest-k", true, auth));
  }
  Relay start_edge(const std::string& name, const std::string& auth, bool wait_healthy = true) {
    return start_relay(dir_, edge_upstream() + backbone(name, false, auth), "", wait_healthy);
  }

  bool connected(const std::string& name) const { return !connection_on(monitor_port_, name).is_null(); }

  // A relay the server refused: running, unready, not on the server.
  void expect_refused(const Relay& relay, const std::string& name) const {
    EXPECT_TRUE(eventually([&] {
      return relay.process->output().find("backbone connection given up") != std::string::npos;
    })) << relay.process->output();
    const auto [status, body] = http_get(relay.metrics_port, "/healthz");
    EXPECT_EQ(status, 503);
    EXPECT_NE(body.find("backbone is not connected"), std::string::npos) << body;
    EXPECT_EQ(relay.metric("tickrelay_backbone_connected"), 0);
    EXPECT_FALSE(connected(name)) << "the server let it in";
    EXPECT_TRUE(relay.process->running());
  }

  TempDir dir_;
  Sim sim_;
  unsigned short port_ = 0, monitor_port_ = 0;
  std::unique_ptr<ChildProcess> nats_;
};

std::string nkey_auth(const NKey& key, const std::string& seed_file) {
  return "    nkey: " + key.public_key + "\n    nkey_seed_file: " + seed_file + "\n";
}

TEST_F(BackboneKeysTest, NKeyUsersLetInOnlyTheRelaysThatHoldTheirSeeds) {
  const auto ingest_key = make_nkey(NKeyType::user);
  const auto edge_key = make_nkey(NKeyType::user);
  const auto stranger = make_nkey(NKeyType::user);
  start_nats("authorization {\n  users = [\n    {nkey: " + ingest_key.public_key +
             ", permissions: " + kIngestPermissions + "}\n    {nkey: " + edge_key.public_key +
             ", permissions: " + kEdgePermissions + "}\n  ]\n}\n");
  const auto ingest = start_ingest(nkey_auth(ingest_key, dir_.write("ingest.nk", ingest_key.seed + "\n")));
  const auto edge = start_edge("edge-k", nkey_auth(edge_key, dir_.write("edge.nk", edge_key.seed + "\n")));
  // The edge's public key with a seed that is not its own: the server's
  // nonce is signed by the wrong key.
  const auto impostor = start_edge("edge-impostor",
                                   nkey_auth(edge_key, dir_.write("stranger.nk", stranger.seed + "\n")), false);
  FanoutClients clients(edge.ws_url("/ws/btcusdt@aggTrade"), 3, "a");
  ASSERT_TRUE(clients.run_until_each_has(300, std::chrono::seconds(60))) << edge.process->output();
  expect_every_event(clients);
  EXPECT_TRUE(connected("edge-k"));
  EXPECT_TRUE(connected("ingest-k"));
  expect_refused(impostor, "edge-impostor");
}

TEST_F(BackboneKeysTest, CredentialsFilesInOperatorModeAndAFileReplacedInPlaceIsTaken) {
  const auto op = make_nkey(NKeyType::operator_key);
  const auto account = make_nkey(NKeyType::account);
  const auto unknown_account = make_nkey(NKeyType::account);
  const auto ingest_user = make_nkey(NKeyType::user);
  const auto edge_user = make_nkey(NKeyType::user);
  // The roles' permissions in the user JWTs, as deploy/README.md gives them.
  const std::string ingest_permissions =
      R"("pub":{"allow":["tickrelay.>","_INBOX.>"]},"sub":{"allow":["tickrelay-last.>","_INBOX.>"]})";
  const std::string edge_permissions =
      R"("pub":{"allow":["tickrelay-last.>","_INBOX.>"]},"sub":{"allow":["tickrelay.>","_INBOX.>"]})";
  const auto op_file = dir_.write("operator.jwt", operator_jwt(op, "tickrelay-test"));
  start_nats("operator: \"" + op_file + "\"\nresolver: MEMORY\nresolver_preload: {\n  " + account.public_key + ": \"" +
             account_jwt(op, account, "backbone") + "\"\n}\n");
  const auto ingest = start_ingest(
      "    credentials_file: " +
      dir_.write("ingest.creds",
                 creds_text(user_jwt(account, ingest_user, "ingest", ingest_permissions), ingest_user)) +
      "\n");
  const auto edge = start_edge(
      "edge-c",
      "    credentials_file: " +
          dir_.write("edge.creds", creds_text(user_jwt(account, edge_user, "edge", edge_permissions), edge_user)) +
          "\n");
  FanoutClients clients(edge.ws_url("/ws/btcusdt@aggTrade"), 3, "a");
  ASSERT_TRUE(clients.run_until_each_has(300, std::chrono::seconds(60))) << edge.process->output();
  expect_every_event(clients);

  // A user signed by an account the operator never issued is refused...
  const auto late_user = make_nkey(NKeyType::user);
  const auto late_file = dir_.write("late.creds",
                                    creds_text(user_jwt(unknown_account, late_user, "edge", edge_permissions),
                                               late_user));
  const auto late = start_edge("edge-late", "    credentials_file: " + late_file + "\n", false);
  FanoutClients waiting(late.ws_url("/ws/btcusdt@aggTrade"), 2, "a");
  expect_refused(late, "edge-late");
  // ...until the operator replaces the file with one the account signed:
  // the relay's next connection reads it, with no restart.
  dir_.write("late.creds", creds_text(user_jwt(account, late_user, "edge", edge_permissions), late_user));
  ASSERT_TRUE(waiting.run_until_each_has(300, std::chrono::seconds(60))) << late.process->output();
  expect_every_event(waiting);
  EXPECT_EQ(http_get(late.metrics_port, "/healthz").first, 200);
  EXPECT_TRUE(connected("edge-late"));
}

}  // namespace
}  // namespace tickrelay::test
