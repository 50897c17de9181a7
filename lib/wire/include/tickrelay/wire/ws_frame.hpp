#pragma once
// The one RFC 6455 frame codec. Servers (the relay, the simulator, the
// benchmarks) frame their messages themselves so that a client's queued
// frames leave in one gathered write; the load client reads server frames
// itself after the HTTP upgrade and writes only rare control frames.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tickrelay::wire {

enum class Opcode : std::uint8_t { continuation = 0, text = 1, binary = 2, close = 8, ping = 9, pong = 10 };

// Size of a server (unmasked) frame header for `payload` bytes: 2, 4 or 10.
std::size_t frame_header_size(std::size_t payload);
// Writes that header (FIN set) at `out`, which has frame_header_size(payload)
// bytes; returns its size.
std::size_t write_frame_header(char* out, std::size_t payload, Opcode opcode = Opcode::text);

struct FrameHeader {
  bool fin = false;
  Opcode opcode = Opcode::continuation;
  std::size_t header_size = 0;
  std::uint64_t payload_size = 0;
};

enum class FrameStatus {
  complete,    // header and whole payload are in the buffer
  incomplete,  // more bytes needed; `needed` says how many in total, once known
  invalid,     // protocol violation: masked server frame, RSV bits, bad opcode or length
};

// Decodes the server frame at the start of [data, data + size). On
// `incomplete`, `needed` is the full frame size when the header is already
// complete, else the header size still to come (a lower bound).
FrameStatus decode_frame(const std::uint8_t* data, std::size_t size, FrameHeader& header, std::uint64_t& needed);

// Appends a masked client frame (FIN set) to `out`. Control frames carry at
// most 125 bytes of payload.
void append_client_frame(std::string& out, Opcode opcode, std::string_view payload, std::uint32_t mask_key);

}  // namespace tickrelay::wire
