#pragma once
// Reads what the relay needs from one upstream message without building a
// DOM: the stream name, the byte range of the `data` value (the raw event
// forwarded to /ws clients), the event time E and the ids used for gap and
// duplicate checks.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace tickrelay::relay {

struct ParsedFrame {
  enum class Type : std::uint8_t {
    event,            // {"stream":..,"data":..}
    response,         // {"result":..,"id":..}: answer to our SUBSCRIBE
    server_shutdown,  // the server is going away: reconnect at once
    malformed,        // anything else; counted and skipped, never forwarded
  };
  Type type = Type::malformed;
  std::string_view stream;      // valid until the next parse
  std::size_t data_offset = 0;  // the `data` value's bytes within the message
  std::size_t data_size = 0;
  std::int64_t event_time = 0;  // E as sent (ms or us); 0 when absent
  // Integer ids at the event's top level, used for gaps and de-duplication.
  std::int64_t trade_id = -1;   // t
  std::int64_t agg_id = -1;     // a (an integer only in aggTrade events)
  std::int64_t update_id = -1;  // u (book ticker, depth)
  const char* error = nullptr;  // why a frame is malformed
};

// E to microseconds: a value past 1e14 is already microseconds (an epoch in
// milliseconds stays below that until the year 5138).
std::int64_t event_time_to_us(std::int64_t event_time);

class FrameParser {
 public:
  // Deepest nesting of objects and arrays an upstream message may have. A
  // Binance event needs four (envelope, data, a depth update's bids, one
  // level); simdjson's On-Demand parser skips what it does not read without
  // counting depth, so a deeper message would reach clients as it came.
  static constexpr std::size_t kMaxDepth = 32;

  FrameParser();
  ~FrameParser();
  FrameParser(const FrameParser&) = delete;
  FrameParser& operator=(const FrameParser&) = delete;

  // `capacity` is how many bytes are readable from `data` (>= size); when it
  // leaves less than the parser's padding, the message is copied to an
  // internal padded buffer first.
  ParsedFrame parse(const char* data, std::size_t size, std::size_t capacity);
  ParsedFrame parse(std::string_view message) { return parse(message.data(), message.size(), message.size()); }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tickrelay::relay
