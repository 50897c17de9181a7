// raw_relay: the least a fan-out relay can do, as a floor to measure
// tickrelayd against. One thread, epoll, non-blocking sockets: one upstream
// connection (plain ws) on the combined endpoint for the configured streams,
// and every downstream client gets every message, the upstream's
// {"stream":..,"data":..} bytes unchanged, whatever path it asked for.
//
// Per upstream read(): decode every complete frame in the buffer, frame each
// message once as a server text frame, append that batch to every client's
// output and give each client ONE send() of everything queued for it. A
// client whose queue passes --max-client-bytes is dropped. No parsing, no
// routing, no metrics: what is left is the cost of the sockets.
//
//   raw_relay --listen 127.0.0.1:9000 --upstream ws://127.0.0.1:8000
//             --upstream-path /market --time-unit-us
//             --symbols-file config/usdt-pairs.txt --template '{symbol}@kline_1h'
//   (the same arguments as the comparison's peers; prints "listening HOST:PORT")
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/sha.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tickrelay/wire/base64.hpp"
#include "tickrelay/wire/ws_frame.hpp"

namespace wire = tickrelay::wire;

namespace {

// One upstream read takes at most this much: a few hundred events at the
// heaviest points, so a read never has to wait for a second one.
constexpr std::size_t kReadBytes = 256 * 1024;
// The comparison gives tickrelayd a 32 MiB client queue; the same bound here.
constexpr std::size_t kDefaultMaxClientBytes = 32u * 1024 * 1024;
// An HTTP upgrade request larger than this is not a client we serve.
constexpr std::size_t kMaxRequestBytes = 16 * 1024;
constexpr std::string_view kWsGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

volatile std::sig_atomic_t g_stop = 0;

struct Options {
  std::string listen_host = "127.0.0.1";
  std::string listen_port = "9000";
  std::string upstream_host = "127.0.0.1";
  std::string upstream_port = "8000";
  std::string upstream_path;
  bool time_unit_us = false;
  std::string symbols_file;
  std::string stream_template = "{symbol}@kline_1h";
  std::size_t max_client_bytes = kDefaultMaxClientBytes;
};

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "raw_relay: %s\n", what.c_str());
  std::exit(1);
}

[[noreturn]] void die_errno(const std::string& what) { die(what + ": " + std::strerror(errno)); }

void split_host_port(const std::string& text, std::string& host, std::string& port) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) die("expected HOST:PORT, got " + text);
  host = text.substr(0, colon);
  port = text.substr(colon + 1);
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die(std::string(arg) + " needs a value");
      return argv[++i];
    };
    if (arg == "--listen") {
      split_host_port(value(), o.listen_host, o.listen_port);
    } else if (arg == "--upstream") {
      std::string url = value();
      if (!url.starts_with("ws://")) die("--upstream must be ws://HOST:PORT");
      url.erase(0, 5);
      while (url.ends_with('/')) url.pop_back();
      split_host_port(url, o.upstream_host, o.upstream_port);
    } else if (arg == "--upstream-path") {
      o.upstream_path = value();
    } else if (arg == "--time-unit-us") {
      o.time_unit_us = true;
    } else if (arg == "--symbols-file") {
      o.symbols_file = value();
    } else if (arg == "--template") {
      o.stream_template = value();
    } else if (arg == "--max-client-bytes") {
      o.max_client_bytes = std::stoull(value());
    } else {
      die("unknown option " + std::string(arg) +
          " (--listen, --upstream, --upstream-path, --time-unit-us, --symbols-file, --template, --max-client-bytes)");
    }
  }
  if (o.symbols_file.empty()) die("--symbols-file is required");
  if (o.stream_template.find("{symbol}") == std::string::npos) die("--template has no {symbol}");
  return o;
}

// The same reading as the load client's: '#' comments, "EXCHANGE:SYMBOL", lower case.
std::vector<std::string> read_streams(const Options& o) {
  std::ifstream in(o.symbols_file);
  if (!in) die("cannot read " + o.symbols_file);
  std::vector<std::string> streams;
  std::string line;
  while (std::getline(in, line)) {
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    const auto colon = line.rfind(':');
    std::string symbol;
    for (char c : line.substr(colon == std::string::npos ? first : colon + 1)) {
      if (!std::isspace(static_cast<unsigned char>(c))) symbol += static_cast<char>(std::tolower(c));
    }
    if (symbol.empty()) continue;
    std::string stream = o.stream_template;
    stream.replace(stream.find("{symbol}"), 8, symbol);
    streams.push_back(std::move(stream));
  }
  if (streams.empty()) die(o.symbols_file + " names no symbol");
  return streams;
}

std::string accept_key(std::string_view key) {
  const std::string text = std::string(key) + std::string(kWsGuid);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return tickrelay::wire::base64(digest, sizeof digest);
}

// The value of header `name` in an HTTP head, or "" (names compare without case).
std::string_view header_value(std::string_view head, std::string_view name) {
  std::size_t at = head.find("\r\n");
  while (at != std::string_view::npos && at + 2 < head.size()) {
    const std::size_t start = at + 2;
    const std::size_t end = head.find("\r\n", start);
    const std::string_view line = head.substr(start, end == std::string_view::npos ? end : end - start);
    const auto colon = line.find(':');
    if (colon == name.size() && std::equal(name.begin(), name.end(), line.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        })) {
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
      return value;
    }
    at = end;
  }
  return {};
}

void set_non_blocking(int fd) {
  if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) die_errno("fcntl");
}

void set_no_delay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

addrinfo* resolve(const std::string& host, const std::string& port, bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = passive ? AI_PASSIVE : 0;
  addrinfo* found = nullptr;
  if (const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    die("resolve " + host + ":" + port + ": " + gai_strerror(rc));
  }
  return found;
}

void send_all_blocking(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        // Only a pong can meet a full send buffer, and only on an upstream that stopped reading.
        pollfd p{fd, POLLOUT, 0};
        poll(&p, 1, 1000);
        continue;
      }
      die_errno("upstream send");
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

// Connects and upgrades, blocking: nothing else runs yet. Bytes after the
// 101 response (the first frames) are left in `leftover`.
int connect_upstream(const Options& o, const std::vector<std::string>& streams, std::mt19937& rng,
                     std::string& leftover) {
  addrinfo* found = resolve(o.upstream_host, o.upstream_port, false);
  int fd = socket(found->ai_family, found->ai_socktype, found->ai_protocol);
  if (fd < 0) die_errno("socket");
  if (connect(fd, found->ai_addr, found->ai_addrlen) != 0) die_errno("connect to upstream");
  freeaddrinfo(found);
  set_no_delay(fd);

  std::string target = o.upstream_path + "/stream?streams=";
  for (std::size_t i = 0; i < streams.size(); ++i) target += (i ? "/" : "") + streams[i];
  if (o.time_unit_us) target += "&timeUnit=MICROSECOND";
  unsigned char nonce[16];
  for (auto& b : nonce) b = static_cast<unsigned char>(rng());
  const std::string key = tickrelay::wire::base64(nonce, sizeof nonce);
  send_all_blocking(fd, "GET " + target + " HTTP/1.1\r\nHost: " + o.upstream_host + ":" + o.upstream_port +
                            "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
                            "\r\nSec-WebSocket-Version: 13\r\n\r\n");
  std::string response;
  char chunk[4096];
  std::size_t head_end;
  while ((head_end = response.find("\r\n\r\n")) == std::string::npos) {
    const ssize_t n = recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) die(n == 0 ? "upstream closed during the upgrade" : std::string("upstream recv: ") + strerror(errno));
    response.append(chunk, static_cast<std::size_t>(n));
  }
  const std::string_view head(response.data(), head_end + 2);
  if (!head.starts_with("HTTP/1.1 101")) die("upstream refused the upgrade: " + std::string(head.substr(0, 200)));
  if (header_value(head, "Sec-WebSocket-Accept") != accept_key(key)) die("upstream sent a wrong accept key");
  leftover = response.substr(head_end + 4);
  set_non_blocking(fd);
  return fd;
}

int listen_on(const Options& o, std::string& bound) {
  addrinfo* found = resolve(o.listen_host, o.listen_port, true);
  int fd = socket(found->ai_family, found->ai_socktype | SOCK_NONBLOCK, found->ai_protocol);
  if (fd < 0) die_errno("socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, found->ai_addr, found->ai_addrlen) != 0) die_errno("bind " + o.listen_host + ":" + o.listen_port);
  freeaddrinfo(found);
  // 10,000 clients may connect at once; the kernel caps this at somaxconn.
  if (listen(fd, 65535) != 0) die_errno("listen");
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  char host[INET6_ADDRSTRLEN] = "?";
  unsigned port = 0;
  if (addr.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
  } else {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    port = ntohs(in6->sin6_port);
  }
  bound = std::string(host) + ":" + std::to_string(port);
  return fd;
}

struct Client {
  bool open = false;      // past the upgrade: gets messages
  bool want_out = false;  // EPOLLOUT registered
  std::string in;         // the upgrade request until it is complete
  std::string out;        // queued bytes not yet taken by the kernel
};

class Relay {
 public:
  Relay(const Options& o, int upstream, int listener, std::string leftover, std::mt19937 rng)
      : options_(o), upstream_(upstream), listener_(listener), up_in_(std::move(leftover)), rng_(rng) {
    epoll_ = epoll_create1(0);
    if (epoll_ < 0) die_errno("epoll_create1");
    watch(upstream_, EPOLLIN, EPOLL_CTL_ADD);
    watch(listener_, EPOLLIN, EPOLL_CTL_ADD);
  }

  int run() {
    // Frames that came with the 101 response go out as soon as the first client can take them.
    if (!up_in_.empty()) publish_complete_frames();
    std::vector<epoll_event> events(1024);
    while (!g_stop) {
      const int n = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), 1000);
      if (n < 0) {
        if (errno == EINTR) continue;
        die_errno("epoll_wait");
      }
      for (int i = 0; i < n; ++i) {
        const int fd = events[static_cast<std::size_t>(i)].data.fd;
        const std::uint32_t what = events[static_cast<std::size_t>(i)].events;
        if (fd == upstream_) {
          if (!on_upstream_readable()) return 1;
        } else if (fd == listener_) {
          on_accept();
        } else {
          on_client(fd, what);
        }
        // Before the next event, so a closed descriptor's number is free before accept4 reuses it.
        drop_pending();
      }
    }
    return 0;
  }

 private:
  void watch(int fd, std::uint32_t events, int op) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    if (epoll_ctl(epoll_, op, fd, &ev) != 0) die_errno("epoll_ctl");
  }

  void on_accept() {
    for (;;) {
      const int fd = accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK);
      if (fd < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED) {
          std::fprintf(stderr, "raw_relay: accept: %s\n", std::strerror(errno));
        }
        return;
      }
      set_no_delay(fd);
      clients_[fd];
      watch(fd, EPOLLIN, EPOLL_CTL_ADD);
    }
  }

  void on_client(int fd, std::uint32_t what) {
    auto it = clients_.find(fd);
    if (it == clients_.end()) return;
    Client& c = it->second;
    if (what & (EPOLLERR | EPOLLHUP)) return drop(fd);
    if (what & EPOLLOUT) flush(fd, c);
    if (what & EPOLLIN) {
      char buf[4096];
      const ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return drop(fd);
      if (n < 0) return;
      // An open client sends only control frames (pong, close): read and
      // discarded; its end shows as EOF.
      if (c.open) return;
      c.in.append(buf, static_cast<std::size_t>(n));
      const auto end = c.in.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (c.in.size() > kMaxRequestBytes) drop(fd);
        return;
      }
      const std::string_view key = header_value(std::string_view(c.in).substr(0, end + 2), "Sec-WebSocket-Key");
      if (key.empty()) return drop(fd);
      c.out =
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Accept: " +
          accept_key(key) + "\r\n\r\n";
      std::string().swap(c.in);
      c.open = true;
      flush(fd, c);
    }
  }

  // One send() of everything queued; what the kernel does not take waits for EPOLLOUT.
  void flush(int fd, Client& c) {
    if (!c.out.empty()) {
      const ssize_t n = send(fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN && errno != EINTR) return drop_later(fd);
      if (n > 0) c.out.erase(0, static_cast<std::size_t>(n));
    }
    set_want_out(fd, c, !c.out.empty());
  }

  void set_want_out(int fd, Client& c, bool want) {
    if (c.want_out == want) return;
    c.want_out = want;
    watch(fd, want ? EPOLLIN | EPOLLOUT : EPOLLIN, EPOLL_CTL_MOD);
  }

  bool on_upstream_readable() {
    const std::size_t have = up_in_.size();
    up_in_.resize(have + kReadBytes);
    const ssize_t n = recv(upstream_, up_in_.data() + have, kReadBytes, 0);
    up_in_.resize(have + (n > 0 ? static_cast<std::size_t>(n) : 0));
    if (n == 0) {
      std::fprintf(stderr, "raw_relay: upstream closed\n");
      return false;
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return true;
      std::fprintf(stderr, "raw_relay: upstream recv: %s\n", std::strerror(errno));
      return false;
    }
    return publish_complete_frames();
  }

  // Frames every complete message once into batch_, then gives each client one send().
  bool publish_complete_frames() {
    batch_.clear();
    std::size_t at = 0;
    for (;;) {
      wire::FrameHeader h;
      std::uint64_t needed = 0;
      const auto* data = reinterpret_cast<const std::uint8_t*>(up_in_.data()) + at;
      const auto status = wire::decode_frame(data, up_in_.size() - at, h, needed);
      if (status == wire::FrameStatus::incomplete) break;
      if (status == wire::FrameStatus::invalid || !h.fin) {
        // The upstream sends whole messages in single frames; anything else is not ours to relay.
        std::fprintf(stderr, "raw_relay: upstream sent an invalid or fragmented frame\n");
        return false;
      }
      const std::string_view payload(up_in_.data() + at + h.header_size, static_cast<std::size_t>(h.payload_size));
      at += h.header_size + static_cast<std::size_t>(h.payload_size);
      switch (h.opcode) {
        case wire::Opcode::text:
        case wire::Opcode::binary: {
          const std::size_t start = batch_.size();
          batch_.resize(start + wire::frame_header_size(payload.size()));
          wire::write_frame_header(batch_.data() + start, payload.size());
          batch_.append(payload);
          break;
        }
        case wire::Opcode::ping: {
          // RFC 6455 5.5.3: the pong carries the ping's payload; a client's frames are masked (5.3).
          std::string pong;
          wire::append_client_frame(pong, wire::Opcode::pong, payload, static_cast<std::uint32_t>(rng_()));
          send_all_blocking(upstream_, pong);
          break;
        }
        case wire::Opcode::close: std::fprintf(stderr, "raw_relay: upstream sent close\n"); return false;
        default: break;
      }
    }
    up_in_.erase(0, at);
    if (batch_.empty()) return true;
    for (auto& [fd, c] : clients_) {
      if (!c.open) continue;
      if (c.out.size() + batch_.size() > options_.max_client_bytes) {
        drop_later(fd);
        continue;
      }
      if (c.out.empty()) {
        // Nothing waiting: send from the shared batch and keep only the rest.
        const ssize_t n = send(fd, batch_.data(), batch_.size(), MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
          drop_later(fd);
          continue;
        }
        const std::size_t sent = n > 0 ? static_cast<std::size_t>(n) : 0;
        if (sent < batch_.size()) c.out.assign(batch_, sent);
        set_want_out(fd, c, !c.out.empty());
      } else {
        c.out += batch_;
        flush(fd, c);
      }
    }
    return true;
  }

  // Drops are collected while clients_ is walked and done after.
  void drop_later(int fd) { dropping_.push_back(fd); }

  void drop_pending() {
    for (int fd : dropping_) drop(fd);
    dropping_.clear();
  }

  void drop(int fd) {
    if (clients_.erase(fd) == 0) return;
    close(fd);  // also leaves the epoll set
  }

  const Options& options_;
  int upstream_;
  int listener_;
  int epoll_ = -1;
  std::string up_in_;
  std::string batch_;
  std::mt19937 rng_;
  std::unordered_map<int, Client> clients_;
  std::vector<int> dropping_;
};

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse_options(argc, argv);
  const auto streams = read_streams(options);
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_stop = 1; };
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  std::mt19937 rng(std::random_device{}());
  std::string leftover;
  const int upstream = connect_upstream(options, streams, rng, leftover);
  std::string bound;
  const int listener = listen_on(options, bound);
  std::printf("listening %s\n", bound.c_str());
  std::fflush(stdout);
  return Relay(options, upstream, listener, std::move(leftover), rng).run();
}
