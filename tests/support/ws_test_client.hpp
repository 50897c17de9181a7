#pragma once
// A WebSocket client for tests: connect, send, read with a timeout, see how
// the server closed. Plain or TLS (verified against a test CA). Each client
// runs its own small event loop only while the test waits on it.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace tickrelay::test {

class WsTestClient {
 public:
  struct Options {
    std::string ca_file;        // wss: trust this CA (empty: verification off)
    std::string authorization;  // Authorization header value, if any
    std::chrono::milliseconds timeout{10000};
  };

  // Connects to ws://HOST:PORT/path or wss://...; throws std::runtime_error
  // (with the server's HTTP status when the handshake is refused).
  explicit WsTestClient(const std::string& url);
  WsTestClient(const std::string& url, Options options);
  ~WsTestClient();
  WsTestClient(const WsTestClient&) = delete;
  WsTestClient& operator=(const WsTestClient&) = delete;

  void send(std::string_view text);
  // The next message, or nullopt when none arrives in time or the
  // connection closed (see closed()).
  std::optional<std::string> read(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Reads until a message satisfies `want` (others are dropped) or timeout.
  template <class Pred>
  std::optional<std::string> read_until(Pred want, std::chrono::milliseconds timeout = std::chrono::seconds(10));

  bool closed() const;
  int close_code() const;  // 0 while open or when closed without a close frame
  std::string close_reason() const;
  void close();
  // Stops reading from the socket (a slow or dead consumer) by shrinking
  // its receive buffer; resume_reading() gives it a large one again, since
  // a tiny window drains the server's backlog only at TCP's persist pace.
  void stop_reading();
  void resume_reading();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Status, body of GET http://127.0.0.1:port/path; status 0 if unreachable.
std::pair<int, std::string> http_get(unsigned short port, const std::string& path,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(5));

// The HTTP status a WebSocket handshake to `url` gets (101 when upgraded);
// headers may carry Authorization.
int handshake_status(const std::string& url, const std::string& authorization = "");

template <class Pred>
std::optional<std::string> WsTestClient::read_until(Pred want, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                            std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto message = read(left);
    if (!message) return std::nullopt;
    if (want(*message)) return message;
  }
}

}  // namespace tickrelay::test
