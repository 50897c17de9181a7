#pragma once
// The daemon's ConnectionFactory: real UpstreamConnections through the loop's
// resolver, numbered from 1.
#include <cstdint>

#include "upstream/connection_factory.hpp"

namespace spdlog {
class logger;
}

namespace tickrelay::fanout {
class Router;
}

namespace tickrelay::upstream {

class DnsResolver;

class UpstreamConnectionFactory final : public ConnectionFactory {
 public:
  // Connections publish each socket read as one batch on `router`.
  UpstreamConnectionFactory(net::io_context& ioc, DnsResolver& resolver, fanout::Router& router, spdlog::logger& log);

  std::shared_ptr<Connection> make(ConnectionSpec spec, Connection::Observer& observer) override;

 private:
  net::io_context& ioc_;
  DnsResolver& resolver_;
  fanout::Router& router_;
  spdlog::logger& log_;
  std::uint64_t next_id_ = 1;
};

}  // namespace tickrelay::upstream
