#pragma once
// The plain integers the relay's hot path bumps. One thread writes them; the
// metrics exporter reads them when Prometheus scrapes.
#include <array>
#include <cstdint>
#include <string_view>

#include "tickrelay/fanout/stream_name.hpp"
#include "tickrelay/observe/histogram.hpp"

namespace tickrelay::fanout {

// Why a client went away; a fixed set so the label never grows.
enum class DisconnectReason : std::uint8_t {
  client_closed,    // the client sent close or hung up
  slow_consumer,    // its queue passed client_queue_bytes
  lagging,          // its oldest queued frame was older than max_client_lag
  rate_limit,       // more messages than client_message_rate allows
  idle_timeout,     // did not answer our ping
  message_too_big,  // sent a message over max_client_message_bytes
  protocol_error,   // broke the WebSocket protocol
  shutdown,         // the relay is stopping
  network_error,    // reset, broken pipe and the like
  count_
};
inline constexpr std::size_t kDisconnectReasonCount = static_cast<std::size_t>(DisconnectReason::count_);
std::string_view reason_label(DisconnectReason reason);

// Why a handshake was refused.
enum class RefusalReason : std::uint8_t { max_clients, max_clients_per_ip, unauthorized, bad_request, count_ };
inline constexpr std::size_t kRefusalReasonCount = static_cast<std::size_t>(RefusalReason::count_);
std::string_view reason_label(RefusalReason reason);

struct RelayCounters {
  // Upstream, all connections together.
  std::uint64_t upstream_messages = 0;
  std::uint64_t upstream_bytes = 0;
  std::uint64_t upstream_malformed = 0;       // unparsable: skipped
  std::uint64_t upstream_unknown_stream = 0;  // a stream we did not ask for: skipped
  std::uint64_t upstream_duplicates = 0;      // seen twice during a rotation: dropped
  std::array<std::uint64_t, fanout::kStreamKindCount> upstream_gaps{};
  observe::Histogram upstream_event_lag;  // now - E at upstream read

  // Downstream.
  std::uint64_t clients_connected = 0;
  std::uint64_t delivered_messages = 0;
  std::uint64_t delivered_bytes = 0;
  std::uint64_t client_writes = 0;       // system calls (plain) or TLS writes that sent them
  std::uint64_t client_queue_bytes = 0;  // sum over clients, now
  std::uint64_t client_requests = 0;     // control messages answered
  std::array<std::uint64_t, kDisconnectReasonCount> client_disconnects{};
  std::array<std::uint64_t, kRefusalReasonCount> handshakes_refused{};
  observe::Histogram relay_latency;  // upstream read -> client write done
  observe::Histogram client_lag;     // age of a client's oldest queued frame, at each write
};

}  // namespace tickrelay::fanout
