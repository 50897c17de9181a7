#include "tickrelay/wire/ws_frame.hpp"

namespace tickrelay::wire {

std::size_t frame_header_size(std::size_t payload) { return payload < 126 ? 2 : payload <= 0xffff ? 4 : 10; }

std::size_t write_frame_header(char* out, std::size_t payload, Opcode opcode) {
  // RFC 6455 5.2: FIN set, no mask (server to client), 7/16/64-bit length.
  out[0] = static_cast<char>(0x80 | static_cast<std::uint8_t>(opcode));
  if (payload < 126) {
    out[1] = static_cast<char>(payload);
    return 2;
  }
  if (payload <= 0xffff) {
    out[1] = 126;
    out[2] = static_cast<char>((payload >> 8) & 0xff);
    out[3] = static_cast<char>(payload & 0xff);
    return 4;
  }
  out[1] = 127;
  for (int i = 0; i < 8; ++i)
    out[2 + i] = static_cast<char>((static_cast<std::uint64_t>(payload) >> (56 - 8 * i)) & 0xff);
  return 10;
}

FrameStatus decode_frame(const std::uint8_t* data, std::size_t size, FrameHeader& header, std::uint64_t& needed) {
  if (size < 2) {
    needed = 2;
    return FrameStatus::incomplete;
  }
  const std::uint8_t b0 = data[0];
  const std::uint8_t b1 = data[1];
  // No extension is negotiated, so RSV bits must be clear; a server never
  // masks (RFC 6455 5.1).
  if ((b0 & 0x70) != 0 || (b1 & 0x80) != 0) {
    return FrameStatus::invalid;
  }
  header.fin = (b0 & 0x80) != 0;
  const std::uint8_t opcode = b0 & 0x0f;
  const bool control = (opcode & 0x08) != 0;
  if ((opcode > 2 && opcode < 8) || opcode > 10) {
    return FrameStatus::invalid;
  }
  header.opcode = static_cast<Opcode>(opcode);
  std::uint64_t length = b1 & 0x7f;
  std::size_t header_size = 2;
  if (length == 126) {
    header_size = 4;
  } else if (length == 127) {
    header_size = 10;
  }
  if (control && (length > 125 || !header.fin)) {
    return FrameStatus::invalid;
  }
  if (size < header_size) {
    needed = header_size;
    return FrameStatus::incomplete;
  }
  if (length == 126) {
    length = (std::uint64_t{data[2]} << 8) | data[3];
  } else if (length == 127) {
    length = 0;
    for (int i = 2; i < 10; ++i) length = (length << 8) | data[i];
    if (length >> 63) return FrameStatus::invalid;
  }
  header.header_size = header_size;
  header.payload_size = length;
  needed = header_size + length;
  return size >= needed ? FrameStatus::complete : FrameStatus::incomplete;
}

void append_client_frame(std::string& out, Opcode opcode, std::string_view payload, std::uint32_t mask_key) {
  out.push_back(static_cast<char>(0x80 | static_cast<std::uint8_t>(opcode)));
  const std::uint64_t n = payload.size();
  if (n < 126) {
    out.push_back(static_cast<char>(0x80 | n));
  } else if (n <= 0xffff) {
    out.push_back(static_cast<char>(0x80 | 126));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xff));
  } else {
    out.push_back(static_cast<char>(0x80 | 127));
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((n >> shift) & 0xff));
  }
  const std::uint8_t mask[4] = {static_cast<std::uint8_t>(mask_key >> 24), static_cast<std::uint8_t>(mask_key >> 16),
                                static_cast<std::uint8_t>(mask_key >> 8), static_cast<std::uint8_t>(mask_key)};
  out.append(reinterpret_cast<const char*>(mask), 4);
  for (std::size_t i = 0; i < payload.size(); ++i) {
    out.push_back(static_cast<char>(static_cast<std::uint8_t>(payload[i]) ^ mask[i % 4]));
  }
}

}  // namespace tickrelay::wire
