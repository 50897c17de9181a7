#include "service_launcher.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace tickrelay::test {

ListeningSocket::ListeningSocket() {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 128) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd_ >= 0) ::close(fd_);
    throw std::runtime_error("cannot open a listening socket on 127.0.0.1");
  }
  port_ = ntohs(addr.sin_port);
}

ListeningSocket::~ListeningSocket() { ::close(fd_); }

std::unique_ptr<ChildProcess> start_service(const std::string& config_path, std::vector<std::string> env,
                                            const ListeningSocket* socket) {
  if (socket == nullptr) {
    return std::make_unique<ChildProcess>(std::vector<std::string>{bin("tickrelayd"), "--config", config_path},
                                          std::move(env));
  }
  // bash moves the socket to fd 3 and execs the daemon, which keeps bash's
  // pid: that pid is what LISTEN_PID must name, as systemd sets it after fork.
  const std::string script =
      "if [ \"$TICKRELAY_TEST_LISTEN_FD\" != 3 ]; then eval \"exec 3<&$TICKRELAY_TEST_LISTEN_FD "
      "$TICKRELAY_TEST_LISTEN_FD<&-\"; fi; unset TICKRELAY_TEST_LISTEN_FD; export LISTEN_PID=$$; exec \"$@\"";
  env.push_back("LISTEN_FDS=1");
  env.push_back("LISTEN_FDNAMES=tickrelayd.socket");
  env.push_back("TICKRELAY_TEST_LISTEN_FD=" + std::to_string(socket->fd()));
  // Inheritable only while this child starts.
  ::fcntl(socket->fd(), F_SETFD, 0);
  std::unique_ptr<ChildProcess> child;
  try {
    child = std::make_unique<ChildProcess>(std::vector<std::string>{"/bin/bash", "-c", script, "tickrelayd",
                                                                    bin("tickrelayd"), "--config", config_path},
                                           std::move(env));
  } catch (...) {
    ::fcntl(socket->fd(), F_SETFD, FD_CLOEXEC);
    throw;
  }
  ::fcntl(socket->fd(), F_SETFD, FD_CLOEXEC);
  return child;
}

std::unique_ptr<ChildProcess> start_service_with_journal_stream(const std::string& config_path) {
  // stat(1) prints the device and inode of the stderr it inherits: the same
  // open file the daemon gets, the pair systemd puts in JOURNAL_STREAM.
  const std::string script = "export JOURNAL_STREAM=$(stat -L -c %d:%i /dev/stderr); exec \"$@\"";
  return std::make_unique<ChildProcess>(
      std::vector<std::string>{"/bin/bash", "-c", script, "tickrelayd", bin("tickrelayd"), "--config", config_path});
}

}  // namespace tickrelay::test
