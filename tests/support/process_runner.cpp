#include "process_runner.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <boost/asio/ip/address.hpp>
#include <cstring>

extern char** environ;

namespace tickrelay::test {
namespace {

std::atomic<int> log_counter{0};

std::string temp_root() {
  const char* dir = std::getenv("TMPDIR");
  return dir != nullptr && *dir != '\0' ? dir : "/tmp";
}

}  // namespace

ChildProcess::ChildProcess(std::vector<std::string> argv, std::vector<std::string> extra_env) {
  log_path_ = temp_root() + "/tickrelay-test-" + std::to_string(::getpid()) + "-" + std::to_string(log_counter++) +
              ".log";
  const int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    throw std::runtime_error("cannot create " + log_path_);
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, log_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, log_fd, 2);

  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    // The child decides about systemd for itself; a test that wants a
    // NOTIFY_SOCKET passes one explicitly.
    if (std::string_view(*e).starts_with("NOTIFY_SOCKET=")) continue;
    env_strings.emplace_back(*e);
  }
  for (auto& e : extra_env) env_strings.push_back(std::move(e));
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  const int rc = ::posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(log_fd);
  if (rc != 0) {
    throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
  }
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !exit_code_) {
    stop(std::chrono::seconds(3));
  }
  if (std::getenv("TICKRELAY_KEEP_TEST_LOGS") == nullptr) {
    ::unlink(log_path_.c_str());
  }
}

std::string ChildProcess::output() const { return read_file(log_path_); }

void ChildProcess::signal(int sig) const {
  if (pid_ > 0 && !exit_code_) ::kill(pid_, sig);
}

std::optional<int> ChildProcess::wait(std::chrono::milliseconds timeout) {
  if (exit_code_) return exit_code_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_code_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

int ChildProcess::stop(std::chrono::milliseconds grace) {
  if (exit_code_) return *exit_code_;
  signal(SIGTERM);
  if (auto code = wait(grace)) return *code;
  signal(SIGKILL);
  return wait(std::chrono::seconds(10)).value_or(-1);
}

bool ChildProcess::running() { return !wait(std::chrono::milliseconds(0)).has_value(); }

unsigned short free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool wait_for_port(unsigned short port, std::chrono::milliseconds timeout) {
  return eventually(
      [port] {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(port);
        const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
        ::close(fd);
        return ok;
      },
      timeout);
}

TempDir::TempDir() {
  std::string pattern = temp_root() + "/tickrelay-test-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed");
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& content) const {
  const std::string p = file(name);
  std::ofstream(p, std::ios::binary) << content;
  return p;
}

TestCertificates make_test_certificates(const TempDir& dir, const std::vector<std::string>& names,
                                        const std::string& prefix) {
  TestCertificates certs{dir.file(prefix + "-ca.pem"), dir.file(prefix + "-cert.pem"), dir.file(prefix + "-key.pem")};
  std::string san;
  for (const auto& name : names) {
    boost::system::error_code ec;
    boost::asio::ip::make_address(name, ec);
    san += (san.empty() ? "" : ",") + std::string(ec ? "DNS:" : "IP:") + name;
  }
  const std::string ca_key = dir.file(prefix + "-ca-key.pem");
  const std::string csr = dir.file(prefix + ".csr");
  const std::string ext = dir.write(prefix + ".ext", "subjectAltName=" + san + "\n");
  const std::vector<std::vector<std::string>> steps = {
      {"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
       "-keyout", ca_key, "-out", certs.ca_file, "-days", "2", "-subj", "/CN=tickrelay test CA"},
      {"/usr/bin/openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
       certs.key_file, "-out", csr, "-subj", "/CN=" + names.front()},
      {"/usr/bin/openssl", "x509", "-req", "-in", csr, "-CA", certs.ca_file, "-CAkey", ca_key, "-CAcreateserial",
       "-out", certs.cert_file, "-days", "2", "-extfile", ext},
  };
  for (const auto& step : steps) {
    ChildProcess p(step);
    const auto code = p.wait(std::chrono::seconds(30));
    if (code != 0) {
      throw std::runtime_error("openssl failed: " + p.output());
    }
  }
  return certs;
}

std::string bin(const std::string& program) { return std::string(TICKRELAY_BIN_DIR) + "/" + program; }

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace tickrelay::test
