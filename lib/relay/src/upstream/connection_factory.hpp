#pragma once
// Makes upstream connections for shards. The pool is given one, so tests
// hand it fakes and the daemon the real UpstreamConnectionFactory.
#include <memory>
#include <string>

#include "upstream/connection.hpp"

namespace tickrelay::upstream {

struct ConnectionSpec {
  ConnectionTarget target;
  ConnectionTimeouts timeouts;
  ssl::context* tls = nullptr;  // used when target.tls; outlives the connection
  std::string label;            // the upstream's name, for logs
};

class ConnectionFactory {
 public:
  virtual ~ConnectionFactory() = default;
  // A connection not yet started; `observer` hears all its events and must
  // outlive them.
  virtual std::shared_ptr<Connection> make(ConnectionSpec spec, Connection::Observer& observer) = 0;
};

}  // namespace tickrelay::upstream
