#pragma once
// Starting tickrelay's own programs for integration tests: the simulator on a
// port of its choosing, the relay with a generated config, waiting until each
// is ready.
#include <memory>
#include <string>
#include <vector>

#include "process_runner.hpp"

namespace tickrelay::test {

struct Sim {
  std::unique_ptr<ChildProcess> process;
  unsigned short port = 0;
  bool tls = false;
  // Base URL for a relay config: ws://127.0.0.1:PORT or wss://localhost:PORT.
  std::string url() const;
};

// Starts tickrelay-sim on 127.0.0.1 (port chosen by the simulator) with
// `args` added; TLS with `certs` when given, else --plain. Throws if it does
// not report its port.
Sim start_sim(std::vector<std::string> args, const TestCertificates* certs = nullptr);

struct Relay {
  std::unique_ptr<ChildProcess> process;
  unsigned short client_port = 0;
  unsigned short metrics_port = 0;
  std::string config_path;
  std::string ws_url(const std::string& path) const;  // ws://127.0.0.1:PORT<path>
  // One metric's value from /metrics (sum over label sets that contain
  // `labels`, e.g. "reason=\"stall\""); -1 if absent.
  double metric(const std::string& name, const std::string& labels = "") const;
};

// The YAML for a relay: `upstreams` is the whole `upstreams:` section;
// `server_extra` lines are indented under `server:`.
std::string relay_yaml(const std::string& upstreams, unsigned short client_port, unsigned short metrics_port,
                       const std::string& server_extra = "");

// An `upstreams:` section of one entry: `settings` (lines such as
// "url: ws://...\nproduct: spot"), then the streams, then the `extra` lines.
std::string upstream_yaml(const std::string& name, const std::string& settings, const std::vector<std::string>& streams,
                          const std::string& extra = "");

// One upstream entry for the simulator, USD-M paths, microsecond times.
std::string sim_upstream(const Sim& sim, const std::vector<std::string>& streams, const std::string& extra = "",
                         const std::string& name = "sim");

// Writes the config and starts tickrelayd; waits until /healthz answers 200
// when `wait_healthy`, else until the client port accepts connections.
// `launcher` goes before the program (e.g. {"prlimit", "--nofile=64:64"}:
// a command that execs it keeps its pid).
Relay start_relay(const TempDir& dir, const std::string& upstreams, const std::string& server_extra = "",
                  bool wait_healthy = true, const std::vector<std::string>& launcher = {});

// Threads of a running process (/proc/<pid>/task entries).
std::size_t thread_count(pid_t pid);

}  // namespace tickrelay::test
