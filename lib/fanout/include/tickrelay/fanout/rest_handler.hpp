#pragma once
// Plain HTTP GETs on the client port that are neither a WebSocket handshake
// nor /livez: the Binance REST paths a server answers next to its streams
// (the relay's and the simulator's depth snapshots). The answer may come
// later, on the server's thread (a book still syncing); the connection waits
// for it within the handshake timeout, then is closed.
#include <boost/beast/http/status.hpp>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tickrelay/wire/asio.hpp"

namespace tickrelay::fanout {

struct RestAnswer {
  beast::http::status status = beast::http::status::ok;
  std::string body;  // JSON
  std::vector<std::pair<std::string, std::string>> headers;
};

class RestHandler {
 public:
  using Reply = std::function<void(RestAnswer)>;
  // Whether `path` (the target without its query) is one this handler takes.
  virtual bool serves(std::string_view path) const = 0;
  // Answers `target` (path and query, as sent) for `peer`: `reply` is called
  // exactly once, at once or later.
  virtual void get(std::string_view target, const net::ip::address& peer, Reply reply) = 0;

 protected:
  ~RestHandler() = default;
};

}  // namespace tickrelay::fanout
