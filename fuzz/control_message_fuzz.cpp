// What a client sends on an open connection: Binance's control messages, and
// the replies built from them (which echo the client's id and names).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "control_message.hpp"
#include "tickrelay/fanout/stream_name.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tickrelay::fanout;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = parse_control_message(text);
  if (const auto* error = std::get_if<ControlError>(&parsed)) {
    (void)make_error(*error);
    return 0;
  }
  const auto& request = std::get<ControlRequest>(parsed);
  std::vector<std::string_view> names;
  for (const auto& stream : request.streams) {
    (void)parse_stream_name(stream);
    names.push_back(stream);
  }
  (void)make_result(make_string_list(names), request.id);
  return 0;
}
