#pragma once
// Starting the real programs from tests: a child process with its output in a
// file, stopped (and reaped) when the object goes away.
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace tickrelay::test {

class ChildProcess {
 public:
  // Starts argv[0] with the given arguments; stdout and stderr go to one log
  // file under the test's temporary directory. Throws if it cannot start.
  explicit ChildProcess(std::vector<std::string> argv, std::vector<std::string> extra_env = {});
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  std::string output() const;  // everything the child wrote so far

  void signal(int sig) const;
  // Waits for exit; returns the exit code (128+signal if killed), or nullopt
  // on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  // SIGTERM, then SIGKILL after a grace period; returns the exit code.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
  bool running();

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string log_path_;
};

// A TCP port on 127.0.0.1 that was free a moment ago.
unsigned short free_port();

// Polls until a TCP connect to 127.0.0.1:port succeeds; false on timeout.
bool wait_for_port(unsigned short port, std::chrono::milliseconds timeout);

// Polls `predicate` every 20 ms until it holds or the timeout passes. Tests use
// it to wait for a state, never to assert on how long the state took.
template <class Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds timeout = std::chrono::seconds(20));

// A fresh directory under the system temp dir, removed with the object.
class TempDir {
 public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  // Writes `content` to name inside the directory and returns its path.
  std::string write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

// A self-signed CA and a server certificate for the given names (DNS names
// or IP addresses), made with the openssl command line.
struct TestCertificates {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
};
TestCertificates make_test_certificates(const TempDir& dir, const std::vector<std::string>& names,
                                        const std::string& prefix = "server");

// Path of a program in build/bin.
std::string bin(const std::string& program);

// The whole content of a file; empty if missing.
std::string read_file(const std::string& path);

}  // namespace tickrelay::test

#include "process_runner_inl.hpp"
