#pragma once
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <string>

namespace tickrelay::client {

// The HTTP side of the WebSocket opening handshake for the raw reader. Beast
// builds and parses the HTTP messages; this checks what RFC 6455 4.1 asks of
// them, so a server that does not speak WebSocket is refused, not read.
class WsHandshake {
 public:
  // A fresh random Sec-WebSocket-Key for each handshake.
  WsHandshake(std::string host_header, std::string target);
  explicit WsHandshake(std::string host_header, std::string target, std::string key);

  const boost::beast::http::request<boost::beast::http::empty_body>& request() const { return request_; }
  // Empty when the response completes the handshake, else the reason.
  std::string check(const boost::beast::http::response<boost::beast::http::empty_body>& response) const;

  static std::string accept_for(const std::string& key);

 private:
  std::string key_;
  boost::beast::http::request<boost::beast::http::empty_body> request_;
};

}  // namespace tickrelay::client
