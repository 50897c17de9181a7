#pragma once
// Starting tickrelayd the way systemd starts tickrelayd.service: with the
// environment a Type=notify unit gets (NOTIFY_SOCKET, WATCHDOG_USEC) and,
// for socket activation, a listening socket the test owns passed as fd 3
// with LISTEN_FDS=1 and LISTEN_PID set to the daemon's own pid.
#include <memory>
#include <string>
#include <vector>

#include "process_runner.hpp"

namespace tickrelay::test {

// A listening TCP socket on 127.0.0.1 (port chosen by the kernel), held by
// the test as systemd holds a .socket unit's: it outlives the daemons it is
// passed to, and connections made between them wait in its backlog.
class ListeningSocket {
 public:
  ListeningSocket();
  ~ListeningSocket();
  ListeningSocket(const ListeningSocket&) = delete;
  ListeningSocket& operator=(const ListeningSocket&) = delete;
  int fd() const { return fd_; }
  unsigned short port() const { return port_; }

 private:
  int fd_ = -1;
  unsigned short port_ = 0;
};

// Starts `tickrelayd --config config_path` with `env` added; with `socket`,
// passes it as sd_listen_fds(3) expects.
std::unique_ptr<ChildProcess> start_service(const std::string& config_path, std::vector<std::string> env,
                                            const ListeningSocket* socket = nullptr);

// Starts tickrelayd with JOURNAL_STREAM naming its own stderr, as systemd
// sets it when the unit's output goes to the journal.
std::unique_ptr<ChildProcess> start_service_with_journal_stream(const std::string& config_path);

}  // namespace tickrelay::test
