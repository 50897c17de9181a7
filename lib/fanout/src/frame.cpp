#include "tickrelay/fanout/frame.hpp"

#include <cstring>
#include <new>

namespace tickrelay::fanout {

using wire::frame_header_size;
using wire::write_frame_header;

Frame* Frame::allocate(std::size_t bytes) {
  void* memory = ::operator new(sizeof(Frame) + bytes);
  return new (memory) Frame();
}

void intrusive_ptr_release(const Frame* f) {
  if (--f->refs_ == 0) {
    f->~Frame();
    ::operator delete(const_cast<Frame*>(f));
  }
}

std::string_view Frame::raw_payload() const { return {bytes() + raw_begin_ + raw_header_, raw_size_ - raw_header_}; }

std::string_view Frame::envelope_payload() const {
  return {bytes() + envelope_header_, envelope_size_ - envelope_header_};
}

FramePtr Frame::from_envelope(std::string_view envelope, std::size_t data_offset, std::size_t data_size,
                              StreamId stream, std::int64_t event_time_us, Clock::time_point received) {
  const std::size_t env_hdr = frame_header_size(envelope.size());
  const std::size_t raw_hdr = frame_header_size(data_size);
  Frame* f = allocate(env_hdr + envelope.size() + raw_hdr + data_size);
  FramePtr owner(f);
  char* out = f->bytes();
  write_frame_header(out, envelope.size());
  std::memcpy(out + env_hdr, envelope.data(), envelope.size());
  f->envelope_header_ = static_cast<std::uint8_t>(env_hdr);
  f->envelope_size_ = static_cast<std::uint32_t>(env_hdr + envelope.size());
  f->raw_begin_ = f->envelope_size_;
  write_frame_header(out + f->raw_begin_, data_size);
  std::memcpy(out + f->raw_begin_ + raw_hdr, envelope.data() + data_offset, data_size);
  f->raw_header_ = static_cast<std::uint8_t>(raw_hdr);
  f->raw_size_ = static_cast<std::uint32_t>(raw_hdr + data_size);
  f->stream_ = stream;
  f->event_time_us_ = event_time_us;
  f->received_ = received;
  return owner;
}

FramePtr Frame::from_payload(std::string_view stream_name, std::string_view payload, StreamId stream,
                             std::int64_t event_time_us, Clock::time_point received) {
  static constexpr std::string_view kOpen = "{\"stream\":\"";
  static constexpr std::string_view kData = "\",\"data\":";
  const std::size_t env_size = kOpen.size() + stream_name.size() + kData.size() + payload.size() + 1;
  const std::size_t env_hdr = frame_header_size(env_size);
  const std::size_t raw_hdr = frame_header_size(payload.size());
  Frame* f = allocate(env_hdr + env_size + raw_hdr + payload.size());
  FramePtr owner(f);
  char* out = f->bytes() + write_frame_header(f->bytes(), env_size);
  for (std::string_view part : {kOpen, stream_name, kData, payload, std::string_view("}")}) {
    std::memcpy(out, part.data(), part.size());
    out += part.size();
  }
  f->envelope_header_ = static_cast<std::uint8_t>(env_hdr);
  f->envelope_size_ = static_cast<std::uint32_t>(env_hdr + env_size);
  f->raw_begin_ = f->envelope_size_;
  write_frame_header(f->bytes() + f->raw_begin_, payload.size());
  std::memcpy(f->bytes() + f->raw_begin_ + raw_hdr, payload.data(), payload.size());
  f->raw_header_ = static_cast<std::uint8_t>(raw_hdr);
  f->raw_size_ = static_cast<std::uint32_t>(raw_hdr + payload.size());
  f->stream_ = stream;
  f->event_time_us_ = event_time_us;
  f->received_ = received;
  return owner;
}

FramePtr Frame::from_wire(std::string_view wire) {
  Frame* f = allocate(wire.size());
  FramePtr owner(f);
  std::memcpy(f->bytes(), wire.data(), wire.size());
  f->envelope_size_ = static_cast<std::uint32_t>(wire.size());
  f->raw_begin_ = 0;
  f->raw_size_ = static_cast<std::uint32_t>(wire.size());
  return owner;
}

FramePtr Frame::from_text(std::string_view payload) {
  const std::size_t header = frame_header_size(payload.size());
  Frame* f = allocate(header + payload.size());
  FramePtr owner(f);
  write_frame_header(f->bytes(), payload.size());
  std::memcpy(f->bytes() + header, payload.data(), payload.size());
  f->envelope_size_ = static_cast<std::uint32_t>(header + payload.size());
  f->raw_begin_ = 0;
  f->raw_size_ = f->envelope_size_;
  f->envelope_header_ = static_cast<std::uint8_t>(header);
  f->raw_header_ = static_cast<std::uint8_t>(header);
  return owner;
}

}  // namespace tickrelay::fanout
