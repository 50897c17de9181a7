#include "raw_session.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/write.hpp>
#include <cstring>
#include <sstream>

#include "load_worker.hpp"
#include "message_processor.hpp"
#include "ws_handshake.hpp"

namespace tickrelay::client {
namespace http = beast::http;

namespace {

using wire::append_client_frame;
using wire::decode_frame;
using wire::FrameStatus;

// See BeastSession: covers connect and upgrade.
constexpr auto kConnectTimeout = std::chrono::seconds(10);
// A 101 response is a few hundred bytes; anything near this is not one.
constexpr std::size_t kMaxUpgradeResponse = 16 * 1024;
// Reads per readiness event before yielding to the other connections of the
// thread: a connection with endless data must not starve the rest.
constexpr int kReadsPerWakeup = 4;
// A kept partial frame larger than this is released after use, so one big
// message does not pin memory on an otherwise idle connection.
constexpr std::size_t kKeepPendingCapacity = 4096;

}  // namespace

struct RawSession::Upgrade {
  Upgrade(net::io_context& loop, const TargetSpec& spec)
      : handshake(spec.host_header, spec.request_target), timer(loop) {}
  WsHandshake handshake;
  std::string response;  // bytes of the server's answer so far
  http::response_parser<http::empty_body> parser;
  net::steady_timer timer;
};

RawSession::RawSession(LoadWorker& worker, std::size_t target, std::size_t index)
    : worker_(worker),
      target_(target),
      index_(index),
      socket_(worker.loop()),
      transport_(socket_),
      mask_state_((static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(this) >> 4) ^
                   static_cast<std::uint32_t>(LoadWorker::now_ns())) |
                  1u) {
  worker_.attach(target_, index_, this);
}

RawSession::~RawSession() { worker_.detach(target_, index_, this); }

void RawSession::start() {
  const TargetSpec& spec = worker_.setup().options.targets[target_];
  upgrade_ = std::make_unique<Upgrade>(worker_.loop(), spec);
  upgrade_->timer.expires_after(kConnectTimeout);
  upgrade_->timer.async_wait([self = shared_from_this()](error_code ec) {
    if (!ec && self->state_ != State::open) self->fail(net::error::timed_out, "connect");
  });
  net::async_connect(socket_, worker_.setup().endpoints[target_],
                     [self = shared_from_this()](error_code ec, const tcp::endpoint&) { self->on_connect(ec); });
}

void RawSession::close() {
  if (up_ && !done_) {
    // Best effort, without waiting: tell the server this is a normal close.
    std::string frame;
    const char code[2] = {static_cast<char>(1000 >> 8), static_cast<char>(1000 & 0xff)};
    append_client_frame(frame, Opcode::close, std::string_view(code, 2), next_mask());
    transport_.write(frame.data(), frame.size());
    transport_.shutdown();
  }
  error_code ignored;
  socket_.close(ignored);
}

void RawSession::on_connect(error_code ec) {
  if (done_) return;
  if (ec) return fail(ec, "connect");
  socket_.non_blocking(true, ec);
  if (ec) return fail(ec, "socket setup");
  // Pongs and the close frame should not wait for Nagle.
  socket_.set_option(tcp::no_delay(true), ec);
  const RunSetup& setup = worker_.setup();
  const TargetSpec& spec = setup.options.targets[target_];
  if (!spec.tls) {
    return begin_upgrade();
  }
  if (!transport_.start_tls(setup.tls->native_handle(), spec.host, !setup.options.insecure)) {
    return fail(net::error::invalid_argument, "TLS setup");
  }
  state_ = State::tls_handshake;
  step();
}

void RawSession::begin_upgrade() {
  state_ = State::upgrading;
  std::ostringstream request;
  request << upgrade_->handshake.request();
  outbox_ = request.str();
  step();
}

void RawSession::step() {
  if (done_) return;
  switch (state_) {
    case State::connecting: return;
    case State::tls_handshake: {
      const RawTransport::Result result = transport_.handshake();
      if (result.ec) return fail(result.ec, "TLS handshake");
      if (result.wait != RawTransport::Wait::none) return arm(result.wait);
      return begin_upgrade();
    }
    case State::upgrading:
      flush();
      if (!done_) read_upgrade_response();
      return;
    case State::open:
      flush();
      if (!done_) read_frames();
      return;
  }
}

void RawSession::arm(RawTransport::Wait wait) {
  if (wait == RawTransport::Wait::readable && !waiting_readable_) {
    waiting_readable_ = true;
    socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](error_code ec) {
      self->waiting_readable_ = false;
      self->on_ready(ec);
    });
  } else if (wait == RawTransport::Wait::writable && !waiting_writable_) {
    waiting_writable_ = true;
    socket_.async_wait(tcp::socket::wait_write, [self = shared_from_this()](error_code ec) {
      self->waiting_writable_ = false;
      self->on_ready(ec);
    });
  }
}

void RawSession::on_ready(error_code ec) {
  if (done_) return;
  if (ec) return fail(ec, "read");
  step();
}

void RawSession::flush() {
  while (!outbox_.empty()) {
    const RawTransport::Result result = transport_.write(outbox_.data(), outbox_.size());
    if (result.ec) return fail(result.ec, "write");
    outbox_.erase(0, result.bytes);
    if (result.wait != RawTransport::Wait::none) return arm(result.wait);
  }
}

void RawSession::read_upgrade_response() {
  Upgrade& upgrade = *upgrade_;
  while (true) {
    char chunk[4096];
    const RawTransport::Result result = transport_.read(chunk, sizeof chunk);
    if (result.ec) return fail(result.ec, "upgrade response");
    if (result.wait != RawTransport::Wait::none) return arm(result.wait);
    upgrade.response.append(chunk, result.bytes);
    error_code ec;
    // Beast parses the header only when it is complete, so it sees all
    // bytes so far each time; whatever follows the 101 is WebSocket frames.
    const std::size_t used = upgrade.parser.put(net::buffer(upgrade.response), ec);
    if (ec == http::error::need_more) {
      if (upgrade.response.size() > kMaxUpgradeResponse) return fail(http::error::header_limit, "upgrade response");
      continue;
    }
    if (ec) return fail(ec, "upgrade response");
    if (const std::string refused = upgrade.handshake.check(upgrade.parser.get()); !refused.empty()) {
      return fail(net::error::connection_refused, "WebSocket handshake: " + refused);
    }
    pending_.assign(upgrade.response.begin() + static_cast<std::ptrdiff_t>(used), upgrade.response.end());
    pending_size_ = pending_.size();
    break;
  }
  upgrade_->timer.cancel();
  upgrade_.reset();
  state_ = State::open;
  up_ = true;
  worker_.on_up(target_, index_);
  const TargetSpec& spec = worker_.setup().options.targets[target_];
  if (!spec.subscribe.empty()) {
    send(Opcode::text, make_subscribe_request(spec.subscribe));
  }
  step();
}

void RawSession::read_frames() {
  if (pending_needed_ > LoadWorker::kReadBufferSize) {
    return read_large_frame();
  }
  char* const buffer = worker_.read_buffer();
  const char* const limit = buffer + worker_.read_buffer_capacity();
  constexpr std::size_t capacity = LoadWorker::kReadBufferSize;
  std::size_t have = pending_size_;
  if (have != 0) std::memcpy(buffer, pending_.data(), have);
  bool fresh = have != 0;  // kept bytes may already hold whole frames (after the upgrade)
  bool drained = false;
  RawTransport::Wait wait = RawTransport::Wait::readable;
  for (int round = 0; round < kReadsPerWakeup && !drained; ++round) {
    const std::size_t room = capacity - have;
    const RawTransport::Result result = transport_.read(buffer + have, room);
    // With edge-triggered readiness only an empty socket guarantees a new
    // wake-up: a wait request, or on a plain socket a short read, proves it;
    // after a full read more may be waiting, so the session comes back.
    drained = result.ec || result.wait != RawTransport::Wait::none ||
              (transport_.short_read_means_empty() && result.bytes < room);
    if (result.wait != RawTransport::Wait::none) wait = result.wait;
    have += result.bytes;
    if (result.bytes != 0 || fresh) {
      fresh = false;
      const std::size_t used = consume(buffer, have, limit, LoadWorker::now_ns());
      if (done_) return;
      have -= used;
      std::memmove(buffer, buffer + used, have);
    }
    if (result.ec) {
      // Whole frames that came before the end (a close right behind the
      // last events) have been counted above.
      pending_size_ = 0;
      return fail(result.ec, "read");
    }
    if (pending_needed_ > capacity) {
      // A frame larger than the shared buffer: collect it in its own.
      pending_.assign(buffer, buffer + have);
      pending_size_ = have;
      return read_large_frame();
    }
  }
  if (pending_.capacity() > kKeepPendingCapacity && have <= kKeepPendingCapacity) {
    pending_ = std::vector<char>();
  }
  pending_.assign(buffer, buffer + have);
  pending_size_ = have;
  if (drained) {
    arm(wait);
  } else {
    net::post(worker_.loop(), [self = shared_from_this()] { self->step(); });
  }
}

void RawSession::read_large_frame() {
  // The frame and the parser's padding in one piece of memory.
  pending_.resize(static_cast<std::size_t>(pending_needed_) + MessageProcessor::kPadding);
  while (pending_size_ < pending_needed_) {
    const RawTransport::Result result = transport_.read(pending_.data() + pending_size_,
                                                        static_cast<std::size_t>(pending_needed_) - pending_size_);
    if (result.ec) return fail(result.ec, "read");
    if (result.wait != RawTransport::Wait::none) return arm(result.wait);
    pending_size_ += result.bytes;
  }
  const std::size_t used = consume(pending_.data(), pending_size_, pending_.data() + pending_.size(),
                                   LoadWorker::now_ns());
  if (done_) return;
  pending_size_ -= used;  // 0: only the frame was requested
  pending_ = std::vector<char>();
  pending_needed_ = 0;
  net::post(worker_.loop(), [self = shared_from_this()] { self->step(); });
}

std::size_t RawSession::consume(char* data, std::size_t size, const char* limit, std::int64_t now_ns) {
  ConnectionSlot& slot = worker_.slot(target_, index_);
  std::size_t pos = 0;
  while (pos < size) {
    FrameHeader header;
    std::uint64_t needed = 0;
    const FrameStatus status = decode_frame(reinterpret_cast<const std::uint8_t*>(data + pos), size - pos, header,
                                            needed);
    if (status == FrameStatus::invalid) {
      fail(net::error::invalid_argument, "protocol error: bad frame from server");
      return pos;
    }
    if (status == FrameStatus::incomplete) {
      pending_needed_ = needed;
      return pos;
    }
    pending_needed_ = 0;
    char* payload = data + pos + header.header_size;
    pos += static_cast<std::size_t>(needed);
    if (!on_frame(header, payload, limit, now_ns, slot)) {
      return pos;
    }
  }
  return pos;
}

bool RawSession::on_frame(const FrameHeader& header, char* payload, const char* limit, std::int64_t now_ns,
                          ConnectionSlot& slot) {
  const auto size = static_cast<std::size_t>(header.payload_size);
  switch (header.opcode) {
    case Opcode::text:
    case Opcode::binary:
      if (in_fragments_) {
        fail(net::error::invalid_argument, "protocol error: new message inside a fragmented one");
        return false;
      }
      if (!header.fin) {
        in_fragments_ = true;
        fragments_.assign(payload, size);
        return true;
      }
      if (!worker_.on_message(target_, slot, payload, size, static_cast<std::size_t>(limit - payload), now_ns)) {
        fail(net::error::operation_aborted, "end of run");
        return false;
      }
      return true;
    case Opcode::continuation: {
      if (!in_fragments_) {
        fail(net::error::invalid_argument, "protocol error: continuation without a message");
        return false;
      }
      fragments_.append(payload, size);
      if (!header.fin) return true;
      in_fragments_ = false;
      const bool more = worker_.on_message_copy(target_, slot, fragments_, now_ns);
      fragments_.clear();
      if (!more) {
        fail(net::error::operation_aborted, "end of run");
        return false;
      }
      return true;
    }
    case Opcode::ping:
      // RFC 6455 5.5.3: the pong carries the ping's payload. Binance drops
      // connections that do not answer within a minute.
      send(Opcode::pong, std::string_view(payload, size));
      return !done_;
    case Opcode::pong: return true;
    case Opcode::close: {
      const unsigned code = size >= 2
                                ? (static_cast<unsigned char>(payload[0]) << 8) | static_cast<unsigned char>(payload[1])
                                : 1005;
      const std::string reason = size > 2 ? std::string(payload + 2, size - 2) : std::string();
      // RFC 6455 5.5.1: answer with a close frame carrying the same code,
      // best effort, before the socket goes.
      std::string reply;
      append_client_frame(reply, Opcode::close, std::string_view(payload, size >= 2 ? 2 : 0), next_mask());
      transport_.write(reply.data(), reply.size());
      fail(net::error::eof,
           "closed by server (code " + std::to_string(code) + (reason.empty() ? "" : ", " + reason) + ")");
      return false;
    }
  }
  return true;
}

void RawSession::send(Opcode opcode, std::string_view payload) {
  append_client_frame(outbox_, opcode, payload, next_mask());
  flush();
}

void RawSession::fail(error_code ec, const std::string& what) {
  if (done_) return;
  done_ = true;
  if (upgrade_) upgrade_->timer.cancel();
  close();
  std::string why = what;
  if (!what.starts_with("closed")) {
    why += ": " + (ec == net::error::eof ? std::string("end of stream without a close frame") : ec.message());
  }
  worker_.on_down(target_, index_, up_, why);
}

std::uint32_t RawSession::next_mask() {
  // xorshift32: client frames need a fresh mask per frame (RFC 6455 5.3);
  // it guards proxies against crafted payloads, which a load client's own
  // pongs are not, so a fast generator is enough.
  mask_state_ ^= mask_state_ << 13;
  mask_state_ ^= mask_state_ >> 17;
  mask_state_ ^= mask_state_ << 5;
  return mask_state_;
}

}  // namespace tickrelay::client
