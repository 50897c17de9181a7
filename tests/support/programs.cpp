#include "programs.hpp"

#include <dirent.h>

#include <cstdio>
#include <sstream>
#include <stdexcept>

#include "ws_test_client.hpp"

namespace tickrelay::test {

std::string Sim::url() const { return (tls ? "wss://localhost:" : "ws://127.0.0.1:") + std::to_string(port); }

Sim start_sim(std::vector<std::string> args, const TestCertificates* certs) {
  std::vector<std::string> argv = {bin("tickrelay-sim"), "--listen", "127.0.0.1:0", "--log-level", "info"};
  if (certs != nullptr) {
    argv.insert(argv.end(), {"--tls-cert", certs->cert_file, "--tls-key", certs->key_file});
  } else {
    argv.push_back("--plain");
  }
  argv.insert(argv.end(), args.begin(), args.end());
  Sim sim;
  sim.tls = certs != nullptr;
  sim.process = std::make_unique<ChildProcess>(argv);
  // The simulator's first line on stdout: "listening 127.0.0.1:PORT ws|wss".
  const std::string listening = "listening 127.0.0.1:";
  const bool ready = eventually([&] {
    const auto out = sim.process->output();
    const auto at = out.find(listening);
    if (at != std::string::npos) {
      unsigned port = 0;
      if (std::sscanf(out.c_str() + at + listening.size(), "%5u", &port) == 1 && port > 0 && port < 65536) {
        sim.port = static_cast<unsigned short>(port);
        return true;
      }
    }
    return !sim.process->running();
  });
  if (!ready || sim.port == 0) throw std::runtime_error("tickrelay-sim did not start: " + sim.process->output());
  return sim;
}

std::string Relay::ws_url(const std::string& path) const {
  return "ws://127.0.0.1:" + std::to_string(client_port) + path;
}

double Relay::metric(const std::string& name, const std::string& labels) const {
  const auto [status, body] = http_get(metrics_port, "/metrics");
  if (status != 200) return -1;
  std::istringstream in(body);
  std::string line;
  double total = 0;
  bool found = false;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line.compare(0, name.size(), name) != 0) continue;
    const char next = line.size() > name.size() ? line[name.size()] : '\0';
    if (next != ' ' && next != '{') continue;
    if (!labels.empty() && line.find(labels) == std::string::npos) continue;
    total += std::stod(line.substr(line.rfind(' ') + 1));
    found = true;
  }
  return found ? total : -1;
}

std::string relay_yaml(const std::string& upstreams, unsigned short client_port, unsigned short metrics_port,
                       const std::string& server_extra) {
  std::string yaml = upstreams;
  yaml += "server:\n  listen: \"127.0.0.1:" + std::to_string(client_port) + "\"\n";
  // Every test client comes from loopback: no per-address cap unless a
  // test sets one.
  if (server_extra.find("max_clients_per_ip") == std::string::npos) yaml += "  max_clients_per_ip: 0\n";
  std::istringstream extra(server_extra);
  std::string line;
  while (std::getline(extra, line)) yaml += "  " + line + "\n";
  yaml += "metrics:\n  listen: \"127.0.0.1:" + std::to_string(metrics_port) + "\"\n";
  yaml += "log:\n  level: debug\n";
  return yaml;
}

std::string upstream_yaml(const std::string& name, const std::string& settings, const std::vector<std::string>& streams,
                          const std::string& extra) {
  std::string yaml = "upstreams:\n  - name: " + name + "\n";
  auto lines = [&](const std::string& text) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) yaml += "    " + line + "\n";
  };
  lines(settings);
  yaml += "    streams: [";
  for (std::size_t i = 0; i < streams.size(); ++i) yaml += (i ? ", \"" : "\"") + streams[i] + "\"";
  yaml += "]\n";
  lines(extra);
  return yaml;
}

std::string sim_upstream(const Sim& sim, const std::vector<std::string>& streams, const std::string& extra,
                         const std::string& name) {
  return upstream_yaml(name, "url: " + sim.url() + "\nproduct: usdm-futures\ntime_unit: microsecond", streams, extra);
}

Relay start_relay(const TempDir& dir, const std::string& upstreams, const std::string& server_extra, bool wait_healthy,
                  const std::vector<std::string>& launcher) {
  Relay relay;
  relay.client_port = free_port();
  relay.metrics_port = free_port();
  while (relay.metrics_port == relay.client_port) relay.metrics_port = free_port();
  relay.config_path = dir.write("tickrelayd-" + std::to_string(relay.client_port) + ".yaml",
                                relay_yaml(upstreams, relay.client_port, relay.metrics_port, server_extra));
  std::vector<std::string> argv = launcher;
  argv.insert(argv.end(), {bin("tickrelayd"), "--config", relay.config_path});
  relay.process = std::make_unique<ChildProcess>(std::move(argv));
  const bool ready = eventually([&] {
    if (!relay.process->running()) return true;
    if (wait_healthy) return http_get(relay.metrics_port, "/healthz").first == 200;
    return wait_for_port(relay.client_port, std::chrono::milliseconds(50));
  });
  if (!ready || !relay.process->running()) {
    throw std::runtime_error("tickrelayd did not become ready: " + relay.process->output());
  }
  return relay;
}

std::size_t thread_count(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/task";
  DIR* dir = opendir(path.c_str());
  if (dir == nullptr) return 0;
  std::size_t n = 0;
  while (const dirent* e = readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n;
}

}  // namespace tickrelay::test
