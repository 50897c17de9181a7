#pragma once
// A raw TCP client for hostile-input tests: it speaks only as much HTTP and
// WebSocket as the test writes by hand, so it can send what a well-behaved
// library never would (partial requests, unmasked frames, floods) and see
// exactly how the server answered: bytes, a close frame, EOF or a reset.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tickrelay/wire/ws_frame.hpp"

namespace tickrelay::test {

class RawClient {
 public:
  enum class ReadResult { data, timeout, eof, reset };

  struct Frame {
    wire::Opcode opcode = wire::Opcode::continuation;
    bool fin = false;
    std::string payload;
  };

  // Connects to 127.0.0.1:port; throws std::runtime_error on failure.
  explicit RawClient(unsigned short port);
  // A connection, or nullopt with `error` (errno) when connect fails or
  // does not finish within `timeout`.
  static std::optional<RawClient> try_connect(unsigned short port, std::chrono::milliseconds timeout, int& error);
  RawClient(RawClient&& other) noexcept;
  RawClient& operator=(RawClient&& other) noexcept;
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  ~RawClient();

  // Writes all of `bytes` (waiting at most `timeout` for room); false once
  // the peer has closed or reset, or on timeout.
  bool send(std::string_view bytes, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Appends what arrives within `timeout` to buffer().
  ReadResult read_some(std::chrono::milliseconds timeout);
  // Reads until EOF or reset; true if the peer closed within `timeout`.
  bool read_until_closed(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  std::string& buffer() { return buffer_; }
  // The connection ended by the peer (EOF or reset) seen so far.
  bool peer_closed() const { return peer_closed_; }

  // Sends a GET upgrade for `path` (extra header lines end in \r\n) and
  // reads the response head; returns its status (0 if none), leaving any
  // bytes after the head in buffer().
  int upgrade(const std::string& path, const std::string& extra_headers = "");
  // Reads an HTTP response head already requested; returns its status, or 0.
  int read_response_head(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  const std::string& response_head() const { return head_; }

  // A masked client frame, FIN set unless `fin` is false; `first_byte_or`
  // is OR-ed into the first byte (RSV bits).
  static std::string client_frame(wire::Opcode opcode, std::string_view payload, bool fin = true,
                                  std::uint8_t first_byte_or = 0);
  bool send_frame(wire::Opcode opcode, std::string_view payload, bool fin = true) {
    return send(client_frame(opcode, payload, fin));
  }
  // The next server frame, or nullopt on timeout, EOF or reset.
  std::optional<Frame> read_frame(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Reads frames (dropping data) until a close frame: its code (0 when it
  // carries none), -1 when the connection ended without one, -2 on timeout.
  int read_close_code(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  const std::string& close_reason() const { return close_reason_; }

  // Receive buffer as small as the kernel allows: a client that stops reading.
  void shrink_receive_buffer();
  // Closes with an RST instead of a FIN (SO_LINGER 0), as a crashed peer.
  void reset();
  void close();
  int fd() const { return fd_; }

 private:
  RawClient() = default;
  int fd_ = -1;
  bool peer_closed_ = false;
  std::string buffer_;
  std::string head_;
  std::string close_reason_;
};

// A raw GET request for `path` that upgrades to WebSocket (a fixed key),
// with `extra_headers` (each ending in \r\n) before the blank line.
std::string upgrade_request(const std::string& path, const std::string& extra_headers = "");

// The status in an HTTP response head ("HTTP/1.1 404 ..."), 0 if none.
int http_status(std::string_view head);

}  // namespace tickrelay::test
