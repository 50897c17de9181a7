// The load client's reader: the bytes a server sends after the 101, cut
// into frames by wire::decode_frame as RawSession::consume does, and each
// text or binary message (whole, or put together from continuations) given
// to MessageProcessor with the padding the session's buffers have.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "message_processor.hpp"
#include "tickrelay/wire/ws_frame.hpp"

namespace {

using namespace tickrelay;

void on_message(client::MessageProcessor& processor, const char* payload, std::size_t size) {
  std::vector<char> padded(size + client::MessageProcessor::kPadding, ' ');
  std::memcpy(padded.data(), payload, size);
  processor.process(padded.data(), size, padded.size());
  for (const auto& event : processor.events()) (void)event.symbol.size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static client::MessageProcessor processor;
  std::string fragments;
  bool in_fragments = false;
  std::size_t pos = 0;
  while (pos < size) {
    wire::FrameHeader header;
    std::uint64_t needed = 0;
    const auto status = wire::decode_frame(data + pos, size - pos, header, needed);
    if (status != wire::FrameStatus::complete) break;  // invalid ends the session; incomplete waits
    if (needed > size - pos || header.header_size + header.payload_size != needed) std::abort();
    const char* payload = reinterpret_cast<const char*>(data + pos + header.header_size);
    const auto payload_size = static_cast<std::size_t>(header.payload_size);
    pos += static_cast<std::size_t>(needed);
    switch (header.opcode) {
      case wire::Opcode::text:
      case wire::Opcode::binary:
        if (in_fragments) return 0;  // a protocol error: the session ends
        if (!header.fin) {
          in_fragments = true;
          fragments.assign(payload, payload_size);
          break;
        }
        on_message(processor, payload, payload_size);
        break;
      case wire::Opcode::continuation:
        if (!in_fragments) return 0;
        fragments.append(payload, payload_size);
        if (header.fin) {
          in_fragments = false;
          processor.process_copy(fragments);
          fragments.clear();
        }
        break;
      case wire::Opcode::ping: {
        std::string pong;
        wire::append_client_frame(pong, wire::Opcode::pong, std::string_view(payload, payload_size), 0x12345678);
        break;
      }
      case wire::Opcode::pong: break;
      case wire::Opcode::close: return 0;
    }
  }
  return 0;
}
