// The handshake's request target alone: the path and query a client asks
// for, split into stream names under the default cap.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tickrelay/fanout/request_target.hpp"
#include "tickrelay/fanout/server_config.hpp"
#include "tickrelay/fanout/stream_name.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tickrelay::fanout;
  const std::string_view target(reinterpret_cast<const char*>(data), size);
  std::string error;
  auto parsed = parse_request_target(target, error);
  if (!parsed) return 0;
  const std::size_t cap = ServerConfig{}.max_streams_per_client;
  if (!split_streams(*parsed, cap, error)) return 0;
  if (parsed->streams.size() > cap) std::abort();
  for (const auto& name : parsed->streams) {
    if (name.empty()) std::abort();
    (void)parse_stream_name(name);
  }
  return 0;
}
