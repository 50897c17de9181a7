#pragma once
// One HTTPS (or HTTP) GET to a REST API, on the relay's loop: resolve with
// c-ares, connect, verify the server's certificate and host name, send, read
// a bounded response, close. Each request opens its own connection: the
// snapshots it serves are minutes apart per book.
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "tickrelay/wire/asio.hpp"

namespace tickrelay::upstream {
class DnsResolver;
}

namespace tickrelay::books {

struct RestTarget {
  std::string host;
  unsigned short port = 443;
  bool tls = true;
  bool verify = true;
  ssl::context* tls_context = nullptr;  // set when tls
};

struct RestResponse {
  error_code error;     // set when no HTTP answer came
  unsigned status = 0;  // HTTP status
  std::string body;
  double retry_after_seconds = 0;  // Retry-After, 0 when absent
};

class RestClient {
 public:
  RestClient(net::io_context& ioc, upstream::DnsResolver& resolver, double timeout_seconds, std::size_t max_body_bytes)
      : ioc_(ioc), resolver_(resolver), timeout_seconds_(timeout_seconds), max_body_bytes_(max_body_bytes) {}

  // `done` is called once, from the loop, never inline.
  void get(const RestTarget& target, std::string path, std::function<void(RestResponse)> done);

 private:
  net::io_context& ioc_;
  upstream::DnsResolver& resolver_;
  double timeout_seconds_;
  std::size_t max_body_bytes_;
};

}  // namespace tickrelay::books
