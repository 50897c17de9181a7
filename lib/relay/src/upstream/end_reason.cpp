#include "upstream/end_reason.hpp"

namespace tickrelay::upstream {

std::string_view end_reason_label(EndReason reason) {
  switch (reason) {
    case EndReason::resolve_failed: return "resolve_failed";
    case EndReason::connect_failed: return "connect_failed";
    case EndReason::tls_failed: return "tls_failed";
    case EndReason::handshake_failed: return "handshake_failed";
    case EndReason::closed_by_server: return "closed_by_server";
    case EndReason::read_error: return "read_error";
    case EndReason::stall: return "stall";
    case EndReason::rotation: return "rotation";
    case EndReason::server_shutdown: return "server_shutdown";
    case EndReason::stopped: return "stopped";
    case EndReason::count_: break;
  }
  return "unknown";
}

}  // namespace tickrelay::upstream
