#pragma once
// One upstream event, framed once for the wire in both forms clients take:
// the raw event (`/ws/...` clients) and the combined envelope
// (`/stream?...` clients). Immutable after construction and shared by
// reference count: every subscriber's queue holds a pointer, never a copy.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <boost/smart_ptr/intrusive_ptr.hpp>

// The header codec: who builds a frame for from_wire() frames it with this.
#include "tickrelay/wire/ws_frame.hpp"

namespace tickrelay::fanout {

using StreamId = std::uint32_t;
inline constexpr StreamId kNoStream = 0xffffffffu;
using Clock = std::chrono::steady_clock;

class Frame;
using FramePtr = boost::intrusive_ptr<const Frame>;

class Frame {
 public:
  // From an upstream combined message: `envelope` is the whole message text
  // and [data_offset, data_offset + data_size) its `data` value.
  static FramePtr from_envelope(std::string_view envelope, std::size_t data_offset, std::size_t data_size,
                                StreamId stream, std::int64_t event_time_us, Clock::time_point received);
  // From a payload and its stream name (the simulator's events): the
  // envelope is built here.
  static FramePtr from_payload(std::string_view stream_name, std::string_view payload, StreamId stream,
                               std::int64_t event_time_us, Clock::time_point received);
  // Bytes already framed for the wire (control frames such as pong or close
  // that the WebSocket library produced); both forms are these bytes.
  static FramePtr from_wire(std::string_view wire);
  // A text payload of our own (a control reply, a simulated event), framed
  // here; not a stream's event (stream() is kNoStream).
  static FramePtr from_text(std::string_view payload);

  Frame(const Frame&) = delete;
  Frame& operator=(const Frame&) = delete;

  // Complete server-to-client WebSocket text frames (header + payload).
  boost::asio::const_buffer raw_wire() const { return {bytes() + raw_begin_, raw_size_}; }
  boost::asio::const_buffer envelope_wire() const { return {bytes(), envelope_size_}; }
  boost::asio::const_buffer wire(bool combined) const { return combined ? envelope_wire() : raw_wire(); }

  // Payloads without the WebSocket header.
  std::string_view raw_payload() const;
  std::string_view envelope_payload() const;

  StreamId stream() const { return stream_; }
  std::int64_t event_time_us() const { return event_time_us_; }  // 0: the event has no E
  Clock::time_point received() const { return received_; }

  friend void intrusive_ptr_add_ref(const Frame* f) { ++f->refs_; }
  friend void intrusive_ptr_release(const Frame* f);

 private:
  Frame() = default;
  static Frame* allocate(std::size_t bytes);
  char* bytes() { return reinterpret_cast<char*>(this + 1); }
  const char* bytes() const { return reinterpret_cast<const char*>(this + 1); }

  // One thread owns every frame (the relay's loop), so the count is plain.
  mutable std::uint32_t refs_ = 0;
  StreamId stream_ = kNoStream;
  std::uint32_t envelope_size_ = 0;  // header + envelope payload
  std::uint32_t raw_begin_ = 0;
  std::uint32_t raw_size_ = 0;  // header + raw payload
  std::uint8_t envelope_header_ = 0;
  std::uint8_t raw_header_ = 0;
  std::int64_t event_time_us_ = 0;
  Clock::time_point received_{};
  // The wire bytes follow the object in the same allocation.
};

}  // namespace tickrelay::fanout
