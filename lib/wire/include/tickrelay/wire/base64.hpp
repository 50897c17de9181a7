#pragma once
// Base64 (RFC 4648, with padding), as WebSocket handshakes and JWTs use it.
#include <string>
#include <string_view>

namespace tickrelay::wire {

std::string base64(std::string_view bytes);
inline std::string base64(const unsigned char* data, std::size_t size) {
  return base64(std::string_view(reinterpret_cast<const char*>(data), size));
}

}  // namespace tickrelay::wire
