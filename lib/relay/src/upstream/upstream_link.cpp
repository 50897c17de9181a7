#include "upstream/upstream_link.hpp"

#include <algorithm>
#include <boost/url/parse.hpp>
#include <stdexcept>

#include "tickrelay/wire/tls_context.hpp"

namespace tickrelay::upstream {

UpstreamLink make_upstream_link(const config::UpstreamConfig& config) {
  const auto url = boost::urls::parse_uri(config.url);
  if (!url) throw std::runtime_error("upstream " + config.name + ": bad url " + config.url);
  UpstreamLink link;
  link.name = config.name;
  link.host = std::string(url->host_address());
  link.tls = url->scheme() == "wss";
  link.port = url->has_port() ? url->port_number() : static_cast<unsigned short>(link.tls ? 443 : 80);
  link.verify = config.tls.verify;
  link.microsecond_time = config.microsecond_time;
  if (link.tls) {
    link.tls_context = std::make_unique<ssl::context>(
        wire::make_client_tls_context(wire::TlsClientOptions{config.tls.verify, config.tls.ca_file}));
  }
  update_link_limits(link, config);
  return link;
}

void update_link_limits(UpstreamLink& link, const config::UpstreamConfig& config) {
  // Our own messages are paced one below the server's limit, since pongs
  // count against it too.
  link.timeouts = ConnectionTimeouts{config.connect_timeout_seconds, config.stall_timeout_seconds,
                                     config.max_message_bytes, std::max(1.0, config.message_rate_per_second - 1)};
  link.max_connection_age_seconds = config.max_connection_age_seconds;
}

}  // namespace tickrelay::upstream
