#pragma once
// Host name lookups driven by the relay's own event loop (c-ares), so no
// resolver thread exists: Asio's async_resolve would run getaddrinfo on a
// private thread, and the relay promises a single thread.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tickrelay/wire/asio.hpp"

namespace tickrelay::upstream {

class DnsResolver {
 public:
  using Handler = std::function<void(error_code, std::vector<tcp::endpoint>)>;

  explicit DnsResolver(net::io_context& ioc);
  ~DnsResolver();
  DnsResolver(const DnsResolver&) = delete;
  DnsResolver& operator=(const DnsResolver&) = delete;

  // Calls `handler` from the loop, never inline. IP literals are answered
  // without a query.
  void resolve(const std::string& host, unsigned short port, Handler handler);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tickrelay::upstream
