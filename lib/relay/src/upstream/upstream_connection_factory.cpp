#include "upstream/upstream_connection_factory.hpp"

#include "upstream/upstream_connection.hpp"

namespace tickrelay::upstream {

UpstreamConnectionFactory::UpstreamConnectionFactory(net::io_context& ioc, DnsResolver& resolver,
                                                     fanout::Router& router, spdlog::logger& log)
    : ioc_(ioc), resolver_(resolver), router_(router), log_(log) {}

std::shared_ptr<Connection> UpstreamConnectionFactory::make(ConnectionSpec spec, Connection::Observer& observer) {
  // Plain or TLS is decided here, once; each connection type is its own
  // instantiation from then on.
  const auto id = next_id_++;
  if (spec.target.tls && spec.tls != nullptr) {
    return make_tls_upstream_connection(ioc_, resolver_, router_, *spec.tls, std::move(spec.target), spec.timeouts,
                                        observer, log_, id, std::move(spec.label));
  }
  return make_plain_upstream_connection(ioc_, resolver_, router_, std::move(spec.target), spec.timeouts, observer, log_,
                                        id, std::move(spec.label));
}

}  // namespace tickrelay::upstream
