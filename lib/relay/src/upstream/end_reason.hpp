#pragma once
// Why an upstream connection ended: a fixed set, used as a metrics label and
// to count replacements per upstream.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tickrelay::upstream {

enum class EndReason : std::uint8_t {
  resolve_failed,
  connect_failed,
  tls_failed,
  handshake_failed,
  closed_by_server,
  read_error,
  stall,
  rotation,
  server_shutdown,
  stopped,
  count_
};
inline constexpr std::size_t kEndReasonCount = static_cast<std::size_t>(EndReason::count_);
std::string_view end_reason_label(EndReason reason);

// Connections replaced, by the reason the old one went.
using ReconnectCounts = std::array<std::uint64_t, kEndReasonCount>;

}  // namespace tickrelay::upstream
