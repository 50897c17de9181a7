// tickrelayd as a systemd service, without systemd: the test plays the
// service manager. It owns the NOTIFY_SOCKET and reads READY=1, WATCHDOG=1,
// STATUS=, RELOADING=1 and STOPPING=1 as systemd would; it passes a listening
// socket the way socket activation does; it sets JOURNAL_STREAM.
#include <gtest/gtest.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <boost/json.hpp>
#include <cstdio>
#include <optional>

#include "notify_socket.hpp"
#include "process_runner.hpp"
#include "programs.hpp"
#include "service_launcher.hpp"
#include "ws_test_client.hpp"

namespace tickrelay::test {
namespace {

namespace json = boost::json;

std::uint64_t monotonic_us() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000u + static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
}

// STATUS= as the daemon writes it: "clients=N upstream=OPEN/TOTAL in=R msg/s
// out=R msg/s"; nullopt when the line has another shape.
struct StatusLine {
  int clients = -1;
  int upstream_open = -1;
  int upstream_total = -1;
};
std::optional<StatusLine> parse_status(const std::string& text) {
  StatusLine line;
  double in = 0;
  double out = 0;
  int end = 0;
  const int n = std::sscanf(text.c_str(), "clients=%d upstream=%d/%d in=%lf msg/s out=%lf msg/s%n", &line.clients,
                            &line.upstream_open, &line.upstream_total, &in, &out, &end);
  if (n != 5 || static_cast<std::size_t>(end) != text.size()) return std::nullopt;
  return line;
}

// A WebSocket handshake written on a plain socket, so it can be sent while no
// daemon is there to answer (it waits in the listening socket's backlog).
class PendingHandshake {
 public:
  PendingHandshake(unsigned short port, const std::string& path) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    const std::string request = "GET " + path +
                                " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                                "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                "Sec-WebSocket-Version: 13\r\n\r\n";
    if (connected_)
      connected_ = ::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size());
  }
  ~PendingHandshake() { ::close(fd_); }
  bool connected() const { return connected_; }
  // Everything received until `enough` holds or the time is up.
  template <class Pred>
  std::string read_until(Pred enough, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!enough(received_)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                              std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      received_.append(buf, static_cast<std::size_t>(n));
    }
    return received_;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string received_;
};

class SystemdTest : public ::testing::Test {
 protected:
  void SetUp() override { sim_ = start_sim({"--rate", "200", "--symbols", "btcusdt,ethusdt"}); }

  // The relay's YAML: btcusdt@aggTrade from the simulator, clients on
  // `client_port`; `extra` is top-level, `server_extra` under server:.
  std::string write_config(unsigned short client_port, const std::string& extra = "",
                           const std::string& server_extra = "") {
    client_port_ = client_port;
    return dir_.write("tickrelayd.yaml",
                      relay_yaml(sim_upstream(sim_, {"btcusdt@aggTrade"}), client_port, metrics_port_, server_extra) +
                          extra);
  }
  std::string ws_url(const std::string& path) const { return "ws://127.0.0.1:" + std::to_string(client_port_) + path; }

  TempDir dir_;
  NotifySocket notify_{dir_.file("notify")};
  Sim sim_;
  unsigned short client_port_ = 0;
  unsigned short metrics_port_ = free_port();
};

TEST_F(SystemdTest, NotifiesReadyWatchdogStatusReloadAndStopping) {
  const auto config = write_config(free_port());
  // 1 s: the daemon must ping every 0.5 s.
  auto relay = start_service(config, {notify_.env(), "WATCHDOG_USEC=1000000"});

  const auto ready = notify_.wait_for("READY=1");
  ASSERT_TRUE(ready) << relay->output();
  EXPECT_EQ(ready->pid, relay->pid());
  // READY=1 promises an open listener and an applied configuration: a
  // client connects at once, with no waiting for the port.
  WsTestClient client(ws_url("/ws/btcusdt@aggTrade"));
  ASSERT_TRUE(client.read());

  int pings = 0;
  while (pings < 3) {
    const auto ping = notify_.wait_for("WATCHDOG=1");
    ASSERT_TRUE(ping) << "watchdog pings stopped after " << pings;
    EXPECT_EQ(ping->pid, relay->pid());
    ++pings;
  }

  // STATUS= is refreshed while running; one soon shows the client and the
  // upstream connection.
  std::string status;
  ASSERT_TRUE(eventually(
      [&] {
        const auto m = notify_.receive(std::chrono::milliseconds(500));
        if (!m || !m->value("STATUS")) return false;
        status = *m->value("STATUS");
        const auto line = parse_status(status);
        EXPECT_TRUE(line) << "STATUS=" << status;
        return line && line->clients == 1 && line->upstream_open == 1 && line->upstream_total == 1;
      },
      std::chrono::seconds(30)))
      << "last STATUS=" << status;

  // SIGHUP: RELOADING=1 with the monotonic time of the reload, then READY=1.
  const auto before_reload = monotonic_us();
  relay->signal(SIGHUP);
  const auto reloading = notify_.wait_for("RELOADING=1");
  ASSERT_TRUE(reloading);
  EXPECT_EQ(reloading->pid, relay->pid());
  ASSERT_TRUE(reloading->value("MONOTONIC_USEC"));
  const auto stamp = std::stoull(*reloading->value("MONOTONIC_USEC"));
  EXPECT_GE(stamp, before_reload);
  EXPECT_LE(stamp, monotonic_us());
  ASSERT_TRUE(notify_.wait_for("READY=1"));
  ASSERT_TRUE(client.read()) << "the client stays connected through a reload";

  // SIGTERM: STOPPING=1 first, then a clean exit.
  relay->signal(SIGTERM);
  const auto stopping = notify_.wait_for("STOPPING=1");
  ASSERT_TRUE(stopping);
  EXPECT_EQ(stopping->pid, relay->pid());
  EXPECT_EQ(relay->wait(std::chrono::seconds(20)), 0);

  // The order systemd relies on, over everything received.
  std::vector<std::string> states;
  for (const auto& m : notify_.seen()) {
    for (const char* s : {"READY=1", "RELOADING=1", "STOPPING=1"}) {
      if (m.has(s)) states.emplace_back(s);
    }
  }
  EXPECT_EQ(states, (std::vector<std::string>{"READY=1", "RELOADING=1", "READY=1", "STOPPING=1"}));
}

TEST_F(SystemdTest, WithoutSystemdItIsAPlainForegroundProcessPinnedByItsYaml) {
  // The first CPU this test may use stands in for the shipped cpu_affinity: 0.
  cpu_set_t allowed;
  ASSERT_EQ(sched_getaffinity(0, sizeof allowed, &allowed), 0);
  int cpu = 0;
  while (!CPU_ISSET(cpu, &allowed)) ++cpu;
  const auto config = write_config(free_port(), "cpu_affinity: " + std::to_string(cpu) + "\n");
  auto relay = start_service(config, {});
  ASSERT_TRUE(eventually([&] { return http_get(metrics_port_, "/healthz").first == 200 || !relay->running(); }));
  ASSERT_TRUE(relay->running()) << relay->output();
  // The process the test started is the one serving: no fork, no detach.
  WsTestClient client(ws_url("/ws/btcusdt@aggTrade"));
  ASSERT_TRUE(client.read());
  EXPECT_EQ(getpgid(relay->pid()), getpgid(0));
  cpu_set_t pinned;
  ASSERT_EQ(sched_getaffinity(relay->pid(), sizeof pinned, &pinned), 0);
  EXPECT_EQ(CPU_COUNT(&pinned), 1);
  EXPECT_TRUE(CPU_ISSET(cpu, &pinned));
  // Logs go to stderr, in the foreground.
  EXPECT_NE(relay->output().find("pinned to CPU cpu=" + std::to_string(cpu)), std::string::npos) << relay->output();
  EXPECT_TRUE(notify_.seen().empty());
  EXPECT_FALSE(notify_.receive(std::chrono::milliseconds(0)));
}

TEST_F(SystemdTest, SocketActivationServesOnThePassedSocketWhichOutlivesARestart) {
  ListeningSocket socket;
  // The YAML names another port: a passed socket takes its place.
  const unsigned short yaml_port = free_port();
  const auto config = write_config(yaml_port);
  client_port_ = socket.port();
  auto first = start_service(config, {notify_.env()}, &socket);
  const auto ready = notify_.wait_for("READY=1");
  ASSERT_TRUE(ready) << first->output();
  EXPECT_EQ(ready->pid, first->pid());
  WsTestClient client(ws_url("/ws/btcusdt@aggTrade"));
  const auto event = client.read();
  ASSERT_TRUE(event);
  EXPECT_EQ(json::parse(*event).at("s").as_string(), "BTCUSDT");
  EXPECT_FALSE(wait_for_port(yaml_port, std::chrono::milliseconds(0))) << "server.listen must not be bound";
  EXPECT_NE(first->output().find("listening on the socket passed by systemd"), std::string::npos) << first->output();

  // Restart: the daemon goes, the socket stays with its owner. A client that
  // connects meanwhile waits in the backlog and is served by the next daemon.
  first->signal(SIGTERM);
  for (int i = 0; i < 100000 && client.read(std::chrono::seconds(5)); ++i) {
  }
  EXPECT_EQ(client.close_code(), 1001);
  EXPECT_EQ(first->wait(std::chrono::seconds(20)), 0);
  PendingHandshake pending(socket.port(), "/ws/btcusdt@aggTrade");
  ASSERT_TRUE(pending.connected()) << "the port must accept while no daemon runs";

  auto second = start_service(config, {notify_.env()}, &socket);
  const auto ready_again = notify_.wait_for("READY=1");
  ASSERT_TRUE(ready_again) << second->output();
  EXPECT_EQ(ready_again->pid, second->pid());
  const auto answer = pending.read_until(
      [](const std::string& r) {
        const auto end = r.find("\r\n\r\n");
        return end != std::string::npos && r.find("BTCUSDT", end) != std::string::npos;
      },
      std::chrono::seconds(20));
  EXPECT_EQ(answer.rfind("HTTP/1.1 101", 0), 0u) << answer;
  EXPECT_NE(answer.find("BTCUSDT", answer.find("\r\n\r\n")), std::string::npos) << "then events flow";
  EXPECT_NE(second->output().find("listening on the socket passed by systemd"), std::string::npos);
}

TEST_F(SystemdTest, StopWithAClientThatNeverAnswersTheCloseStillExitsZero) {
  // shutdown_drain bounds how long SIGTERM waits for clients' close
  // handshakes; a client that stopped reading never finishes its own.
  const auto config = write_config(free_port(), "");
  auto relay = start_service(config, {notify_.env()});
  ASSERT_TRUE(notify_.wait_for("READY=1")) << relay->output();
  WsTestClient stuck(ws_url("/ws/btcusdt@aggTrade"));
  ASSERT_TRUE(stuck.read());
  stuck.stop_reading();
  WsTestClient polite(ws_url("/ws/btcusdt@aggTrade"));
  ASSERT_TRUE(polite.read());

  relay->signal(SIGTERM);
  ASSERT_TRUE(notify_.wait_for("STOPPING=1"));
  for (int i = 0; i < 100000 && polite.read(std::chrono::seconds(5)); ++i) {
  }
  EXPECT_EQ(polite.close_code(), 1001);
  // systemd would count anything but 0 as a failure (and keep a core dump).
  EXPECT_EQ(relay->wait(std::chrono::seconds(30)), 0) << relay->output();
  EXPECT_NE(relay->output().find("shutdown drain time over clients_left=1"), std::string::npos) << relay->output();
}

TEST_F(SystemdTest, ReloadKeepsThePassedSocketForNewListenAndTlsSettings) {
  ListeningSocket socket;
  auto config = write_config(free_port());
  client_port_ = socket.port();
  auto relay = start_service(config, {notify_.env()}, &socket);
  ASSERT_TRUE(notify_.wait_for("READY=1")) << relay->output();
  WsTestClient before(ws_url("/ws/btcusdt@aggTrade"));
  ASSERT_TRUE(before.read());

  // The operator edits server.listen while tickrelayd.socket owns the port:
  // the socket stays in charge (it is what clients reach), and the daemon says so.
  const unsigned short edited_port = free_port();
  config = write_config(edited_port);
  client_port_ = socket.port();
  relay->signal(SIGHUP);
  ASSERT_TRUE(notify_.wait_for("RELOADING=1"));
  ASSERT_TRUE(notify_.wait_for("READY=1"));
  WsTestClient after(ws_url("/ws/btcusdt@aggTrade"));
  ASSERT_TRUE(after.read());
  ASSERT_TRUE(before.read());
  EXPECT_FALSE(wait_for_port(edited_port, std::chrono::milliseconds(0)));
  EXPECT_NE(relay->output().find("server.listen is ignored: clients connect through the socket systemd passed "
                                 "listen=127.0.0.1:" +
                                 std::to_string(edited_port)),
            std::string::npos)
      << relay->output();

  // New TLS files: the passed socket serves them to new connections.
  const auto certs = make_test_certificates(dir_, {"localhost", "127.0.0.1"}, "relay");
  write_config(edited_port, "", "tls: { cert_file: " + certs.cert_file + ", key_file: " + certs.key_file + " }");
  relay->signal(SIGHUP);
  ASSERT_TRUE(notify_.wait_for("RELOADING=1"));
  ASSERT_TRUE(notify_.wait_for("READY=1"));
  WsTestClient::Options options;
  options.ca_file = certs.ca_file;
  WsTestClient secure("wss://localhost:" + std::to_string(socket.port()) + "/ws/btcusdt@aggTrade", options);
  ASSERT_TRUE(secure.read());
  ASSERT_TRUE(before.read()) << "clients connected before stay connected";
  EXPECT_NE(relay->output().find("client TLS certificate loaded cert_file=" + certs.cert_file), std::string::npos)
      << relay->output();
}

TEST_F(SystemdTest, LogsGoToTheJournalOnlyWhenStderrIsTheJournalStream) {
  const auto config = write_config(free_port());
  // A JOURNAL_STREAM inherited from elsewhere (a shell started by a service)
  // names another file: the daemon keeps logging to its stderr.
  auto inherited = start_service(config, {"JOURNAL_STREAM=1:1"});
  ASSERT_TRUE(eventually([&] { return http_get(metrics_port_, "/healthz").first == 200 || !inherited->running(); }));
  EXPECT_NE(inherited->output().find("clients listener up"), std::string::npos) << inherited->output();
  EXPECT_EQ(inherited->stop(), 0);

  // When JOURNAL_STREAM is its stderr, as systemd sets it, lines go to the
  // journal as structured entries and stderr stays empty.
  auto journal = start_service_with_journal_stream(config);
  ASSERT_TRUE(eventually([&] { return http_get(metrics_port_, "/healthz").first == 200 || !journal->running(); }));
  ASSERT_TRUE(journal->running());
  {
    WsTestClient client(ws_url("/ws/btcusdt@aggTrade"));
    ASSERT_TRUE(client.read());
  }
  EXPECT_EQ(journal->stop(), 0);
  EXPECT_EQ(journal->output(), "");
}

}  // namespace
}  // namespace tickrelay::test
