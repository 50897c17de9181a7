#include "raw_client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace tickrelay::test {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// Waits for `events` on fd until the deadline; the revents, 0 on timeout.
short wait_for(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  while (true) {
    const int rc = ::poll(&p, 1, remaining_ms(deadline));
    if (rc > 0) return p.revents;
    if (rc == 0) return 0;
    if (errno != EINTR) return POLLERR;
  }
}

}  // namespace

RawClient::RawClient(unsigned short port) {
  int error = 0;
  auto client = try_connect(port, std::chrono::seconds(10), error);
  if (!client) throw std::runtime_error(std::string("connect failed: ") + std::strerror(error));
  *this = std::move(*client);
}

std::optional<RawClient> RawClient::try_connect(unsigned short port, std::chrono::milliseconds timeout, int& error) {
  RawClient client;
  client.fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (client.fd_ < 0) {
    error = errno;
    return std::nullopt;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(client.fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) {
      error = errno;
      return std::nullopt;
    }
    if ((wait_for(client.fd_, POLLOUT, Clock::now() + timeout) & (POLLOUT | POLLERR | POLLHUP)) == 0) {
      error = ETIMEDOUT;
      return std::nullopt;
    }
    int so_error = 0;
    socklen_t len = sizeof so_error;
    ::getsockopt(client.fd_, SOL_SOCKET, SO_ERROR, &so_error, &len);
    if (so_error != 0) {
      error = so_error;
      return std::nullopt;
    }
  }
  const int one = 1;
  ::setsockopt(client.fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  error = 0;
  return std::optional<RawClient>(std::move(client));
}

RawClient::RawClient(RawClient&& other) noexcept { *this = std::move(other); }

RawClient& RawClient::operator=(RawClient&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    peer_closed_ = other.peer_closed_;
    buffer_ = std::move(other.buffer_);
    head_ = std::move(other.head_);
    close_reason_ = std::move(other.close_reason_);
  }
  return *this;
}

RawClient::~RawClient() { close(); }

void RawClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void RawClient::reset() {
  if (fd_ < 0) return;
  const linger hard{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  close();
}

void RawClient::shrink_receive_buffer() {
  const int tiny = 1;  // the kernel rounds it up to its minimum
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &tiny, sizeof tiny);
}

bool RawClient::send(std::string_view bytes, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!bytes.empty()) {
    if (fd_ < 0 || peer_closed_) return false;
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      const auto revents = wait_for(fd_, POLLOUT, deadline);
      if (revents == 0) return false;
      if ((revents & POLLOUT) == 0) {
        peer_closed_ = true;
        return false;
      }
      continue;
    }
    peer_closed_ = true;  // EPIPE, ECONNRESET
    return false;
  }
  return true;
}

RawClient::ReadResult RawClient::read_some(std::chrono::milliseconds timeout) {
  if (fd_ < 0) return ReadResult::eof;
  const auto deadline = Clock::now() + timeout;
  while (true) {
    char chunk[65536];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n > 0) {
      buffer_.append(chunk, static_cast<std::size_t>(n));
      return ReadResult::data;
    }
    if (n == 0) {
      peer_closed_ = true;
      return ReadResult::eof;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (wait_for(fd_, POLLIN, deadline) == 0) return ReadResult::timeout;
      continue;
    }
    peer_closed_ = true;
    return ReadResult::reset;
  }
}

bool RawClient::read_until_closed(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!peer_closed_) {
    const auto left = std::chrono::milliseconds(remaining_ms(deadline));
    if (left.count() == 0) return false;
    if (read_some(left) == ReadResult::timeout) return false;
    // What the peer sent before it closed is of no interest past a bound.
    if (buffer_.size() > (16u << 20)) buffer_.erase(0, buffer_.size() - 4096);
  }
  return true;
}

int RawClient::upgrade(const std::string& path, const std::string& extra_headers) {
  if (!send(upgrade_request(path, extra_headers))) return 0;
  return read_response_head();
}

int RawClient::read_response_head(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    const auto end = buffer_.find("\r\n\r\n");
    if (end != std::string::npos) {
      head_ = buffer_.substr(0, end + 4);
      buffer_.erase(0, end + 4);
      return http_status(head_);
    }
    // One read even past the deadline: a zero timeout takes what is there.
    if (read_some(std::chrono::milliseconds(remaining_ms(deadline))) != ReadResult::data) {
      head_ = buffer_;
      return http_status(head_);
    }
  }
}

std::string RawClient::client_frame(wire::Opcode opcode, std::string_view payload, bool fin,
                                    std::uint8_t first_byte_or) {
  std::string out;
  wire::append_client_frame(out, opcode, payload, 0x5a17c3e1u);
  if (!fin) out[0] = static_cast<char>(static_cast<std::uint8_t>(out[0]) & 0x7f);
  out[0] = static_cast<char>(static_cast<std::uint8_t>(out[0]) | first_byte_or);
  return out;
}

std::optional<RawClient::Frame> RawClient::read_frame(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    wire::FrameHeader header;
    std::uint64_t needed = 0;
    const auto status = wire::decode_frame(reinterpret_cast<const std::uint8_t*>(buffer_.data()), buffer_.size(),
                                           header, needed);
    if (status == wire::FrameStatus::invalid) return std::nullopt;
    if (status == wire::FrameStatus::complete) {
      Frame frame{header.opcode, header.fin, buffer_.substr(header.header_size, header.payload_size)};
      buffer_.erase(0, header.header_size + header.payload_size);
      return frame;
    }
    if (read_some(std::chrono::milliseconds(remaining_ms(deadline))) != ReadResult::data) return std::nullopt;
  }
}

int RawClient::read_close_code(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    const auto left = std::chrono::milliseconds(remaining_ms(deadline));
    auto frame = read_frame(left);
    if (!frame) return peer_closed_ ? -1 : -2;
    if (frame->opcode != wire::Opcode::close) continue;
    if (frame->payload.size() < 2) return 0;
    close_reason_ = frame->payload.substr(2);
    return (static_cast<std::uint8_t>(frame->payload[0]) << 8) | static_cast<std::uint8_t>(frame->payload[1]);
  }
}

std::string upgrade_request(const std::string& path, const std::string& extra_headers) {
  return "GET " + path +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
         extra_headers + "\r\n";
}

int http_status(std::string_view head) {
  if (!head.starts_with("HTTP/1.")) return 0;
  const auto space = head.find(' ');
  if (space == std::string_view::npos || head.size() < space + 4) return 0;
  int status = 0;
  for (std::size_t i = space + 1; i < space + 4; ++i) {
    if (head[i] < '0' || head[i] > '9') return 0;
    status = status * 10 + (head[i] - '0');
  }
  return status;
}

}  // namespace tickrelay::test
