#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "raw_transport.hpp"
#include "session.hpp"
#include "tickrelay/wire/asio.hpp"
#include "tickrelay/wire/ws_frame.hpp"

namespace tickrelay::client {

using wire::FrameHeader;
using wire::Opcode;

class LoadWorker;
struct ConnectionSlot;

// One ws:// or wss:// connection read without a WebSocket library on the hot
// path. Beast's HTTP builds the upgrade request and parses the 101; after it
// the session waits for the socket to become readable and reads (through
// OpenSSL for wss) into its worker's shared 256 KiB buffer, so a busy
// connection hands over hundreds of messages per read, each parsed in place.
// Only an incomplete frame at the end of a read is kept per connection, which
// keeps 10,000 idle connections small.
class RawSession : public Session, public std::enable_shared_from_this<RawSession> {
 public:
  RawSession(LoadWorker& worker, std::size_t target, std::size_t index);
  ~RawSession() override;
  RawSession(const RawSession&) = delete;
  RawSession& operator=(const RawSession&) = delete;

  void start();
  void close() override;

 private:
  struct Upgrade;
  enum class State { connecting, tls_handshake, upgrading, open };

  void on_connect(error_code ec);
  void begin_upgrade();
  // Advances whatever the state allows; every readiness event lands here.
  void step();
  void arm(RawTransport::Wait wait);
  void on_ready(error_code ec);
  void read_upgrade_response();
  void read_frames();
  void read_large_frame();
  // Handles the complete frames in [data, data + size); `limit` is the end
  // of readable memory (padding included). Returns the bytes used.
  std::size_t consume(char* data, std::size_t size, const char* limit, std::int64_t now_ns);
  bool on_frame(const FrameHeader& header, char* payload, const char* limit, std::int64_t now_ns, ConnectionSlot& slot);
  void send(Opcode opcode, std::string_view payload);
  void flush();
  void fail(error_code ec, const std::string& what);
  std::uint32_t next_mask();

  LoadWorker& worker_;
  const std::size_t target_;
  const std::size_t index_;
  tcp::socket socket_;
  RawTransport transport_;
  State state_ = State::connecting;
  std::unique_ptr<Upgrade> upgrade_;  // released once the connection is a WebSocket
  std::vector<char> pending_;         // the incomplete frame left by the last read
  std::size_t pending_size_ = 0;
  std::uint64_t pending_needed_ = 0;  // its full size once the header is in
  std::string fragments_;             // a message split over continuation frames
  bool in_fragments_ = false;
  std::string outbox_;  // upgrade request and control frames not yet written
  std::uint32_t mask_state_;
  bool waiting_readable_ = false;
  bool waiting_writable_ = false;
  bool up_ = false;
  bool done_ = false;
};

}  // namespace tickrelay::client
