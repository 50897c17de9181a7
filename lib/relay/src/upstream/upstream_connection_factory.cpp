#include "upstream/upstream_connection_factory.hpp"

#include "upstream/upstream_connection.hpp"

namespace tickrelay::upstream {

UpstreamConnectionFactory::UpstreamConnectionFactory(net::io_context& ioc, DnsResolver& resolver,
                                                     spdlog::logger& log)
    : ioc_(ioc), resolver_(resolver), log_(log) {}

std::shared_ptr<Connection> UpstreamConnectionFactory::make(ConnectionSpec spec, Connection::Observer& observer) {
  return std::make_shared<UpstreamConnection>(ioc_, resolver_, spec.tls, std::move(spec.target), spec.timeouts,
                                              observer, log_, next_id_++, std::move(spec.label));
}

}  // namespace tickrelay::upstream
