// The client's handshake from its first byte to the point where a session
// would start: Beast's request parser with the relay's limits, fed the way
// http::async_read feeds it (a bounded buffer, reads of varying size), then
// check_request. Only the socket and the admission by address are left out.
#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "http_session.hpp"
#include "tickrelay/fanout/server_config.hpp"

namespace {

using namespace tickrelay;
namespace http = beast::http;

const fanout::ServerConfig& config() {
  static const fanout::ServerConfig c = [] {
    fanout::ServerConfig s;
    s.auth_token = "s3cret";  // the token check is part of the path
    return s;
  }();
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The first byte chooses how much one read brings (1 to 256 bytes), so
  // the parser sees requests split at every kind of boundary. Reads are at
  // least 1/128 of the input: a 16 KiB request byte by byte costs 16,384
  // parser calls, each slow under the fuzzer's instrumentation, for no
  // boundary that smaller inputs do not reach as well.
  if (size == 0) return 0;
  const std::size_t chunk = std::max(std::size_t{data[0]} + 1, size / 128);
  ++data;
  --size;

  http::request_parser<http::empty_body> parser;
  fanout::limit_request_parser(parser, config());
  beast::flat_buffer buffer(config().max_request_bytes);
  error_code ec;
  std::size_t taken = 0;  // what async_read reports as bytes transferred
  std::size_t offset = 0;
  while (!parser.is_done()) {
    const std::size_t room = buffer.max_size() - buffer.size();
    if (room == 0) {
      ec = http::error::buffer_overflow;
      break;
    }
    if (offset == size) {
      ec = http::error::end_of_stream;  // the client went away
      break;
    }
    const std::size_t n = std::min({chunk, room, size - offset});
    auto into = buffer.prepare(n);
    std::memcpy(into.data(), data + offset, n);
    buffer.commit(n);
    offset += n;
    const std::size_t used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    taken += used;
    if (ec == http::error::need_more) {
      ec = {};
      continue;
    }
    if (ec) break;
  }
  const auto verdict = fanout::check_request(ec, taken, parser.get(), config());
  if (verdict.action == fanout::RequestVerdict::Action::upgrade) {
    if (!verdict.target || taken > config().max_request_bytes ||
        verdict.target->streams.size() > config().max_streams_per_client)
      std::abort();
  }
  return 0;
}
