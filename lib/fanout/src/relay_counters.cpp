#include "tickrelay/fanout/relay_counters.hpp"

namespace tickrelay::fanout {

std::string_view reason_label(DisconnectReason reason) {
  switch (reason) {
    case DisconnectReason::client_closed: return "client_closed";
    case DisconnectReason::slow_consumer: return "slow_consumer";
    case DisconnectReason::lagging: return "lagging";
    case DisconnectReason::rate_limit: return "rate_limit";
    case DisconnectReason::idle_timeout: return "idle_timeout";
    case DisconnectReason::message_too_big: return "message_too_big";
    case DisconnectReason::protocol_error: return "protocol_error";
    case DisconnectReason::shutdown: return "shutdown";
    case DisconnectReason::network_error: return "network_error";
    case DisconnectReason::count_: break;
  }
  return "unknown";
}

std::string_view reason_label(RefusalReason reason) {
  switch (reason) {
    case RefusalReason::max_clients: return "max_clients";
    case RefusalReason::max_clients_per_ip: return "max_clients_per_ip";
    case RefusalReason::unauthorized: return "unauthorized";
    case RefusalReason::bad_request: return "bad_request";
    case RefusalReason::count_: break;
  }
  return "unknown";
}

}  // namespace tickrelay::fanout
