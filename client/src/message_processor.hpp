#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace tickrelay::client {

enum class EventKind : std::uint8_t { other, kline, ticker, mini_ticker, trade, agg_trade, book_ticker };

// What one Binance market event says, as far as the load client cares. The
// string views point into the processor's buffers and live until the next
// process() call.
struct MarketEvent {
  EventKind kind = EventKind::other;
  std::string_view symbol;
  std::string_view interval;     // kline only: streams of one symbol differ by it
  double price = 0;              // close (kline, tickers), trade price, book mid
  double change_pct = 0;         // valid when has_change
  std::uint64_t event_time = 0;  // E as sent: milliseconds or microseconds
  std::uint64_t sequence = 0;    // trade t, aggTrade a, kline k.L
  bool has_price = false;
  // Kline, ticker and miniTicker carry their own change; for trades and book
  // tickers the change is taken against the first price seen.
  bool has_change = false;
  bool has_event_time = false;  // spot bookTicker has no E
  bool has_sequence = false;
};

enum class MessageClass : std::uint8_t {
  market,     // one or more market events (raw, combined envelope or array)
  control,    // a response such as {"result":null,"id":1}; not market data
  malformed,  // not JSON, or not the shape of a Binance message
};

// Extracts symbol, price, change %, E and sequence ids from each message with
// simdjson On-Demand: one reused parser, one pass over the fields, no
// allocation once the buffers have grown to the largest message seen.
class MessageProcessor {
 public:
  // Bytes that must be readable (any value) after a message handed to
  // process(): simdjson reads whole 64-byte blocks.
  static constexpr std::size_t kPadding = 64;

  // kline_sequences: treat kline k.L as a per-event sequence (true for the
  // simulator; real Binance counts trades in L, so gaps would be noise).
  explicit MessageProcessor(bool kline_sequences = true);
  ~MessageProcessor();
  MessageProcessor(const MessageProcessor&) = delete;
  MessageProcessor& operator=(const MessageProcessor&) = delete;

  // `data[0, size)` is one message and data[size, capacity) is readable:
  // capacity >= size + kPadding. No copy is made.
  MessageClass process(const char* data, std::size_t size, std::size_t capacity);
  // For messages without padding: copies into an internal padded buffer.
  MessageClass process_copy(std::string_view message);

  std::span<const MarketEvent> events() const { return {events_.data(), events_.size()}; }
  // The envelope's "stream" of a combined-stream message, empty for raw ones.
  std::string_view stream() const { return stream_; }

 private:
  struct Parser;
  std::unique_ptr<Parser> parser_;  // keeps simdjson out of every includer
  std::vector<MarketEvent> events_;
  std::vector<char> padded_;
  std::string_view stream_;
  bool kline_sequences_;
};

}  // namespace tickrelay::client
