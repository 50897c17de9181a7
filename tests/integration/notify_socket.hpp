#pragma once
// A NOTIFY_SOCKET of the test's own, as systemd makes one for a Type=notify
// service: an AF_UNIX datagram socket bound to a path, receiving what the
// daemon sends with sd_notify(3), each datagram with its sender's pid.
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tickrelay::test {

class NotifySocket {
 public:
  struct Message {
    std::string text;                                               // one or more NAME=VALUE lines
    pid_t pid = 0;                                                  // the sender, from SCM_CREDENTIALS
    bool has(std::string_view line) const;                          // an exact line
    std::optional<std::string> value(std::string_view name) const;  // NAME=...
  };

  // Binds the socket at `path` (under a TempDir: sun_path holds 107 bytes).
  explicit NotifySocket(std::string path);
  ~NotifySocket();
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  // NOTIFY_SOCKET=<path>, for the daemon's environment.
  std::string env() const { return "NOTIFY_SOCKET=" + path_; }

  // The next datagram, or nullopt when none comes within `timeout`.
  std::optional<Message> receive(std::chrono::milliseconds timeout);
  // Receives until a datagram holds `line` (others are kept in seen()).
  std::optional<Message> wait_for(std::string_view line, std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Every datagram received so far, in order.
  const std::vector<Message>& seen() const { return seen_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::vector<Message> seen_;
};

}  // namespace tickrelay::test
