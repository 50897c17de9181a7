#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "net.hpp"
#include "session.hpp"
#include "ws_frame.hpp"

namespace tickrelay::client {

class LoadWorker;
struct ConnectionSlot;

// One plain ws:// connection read without a WebSocket library on the hot
// path. Beast's HTTP does the upgrade; afterwards the session waits for the
// socket to become readable and reads into its worker's shared 256 KiB
// buffer, so a busy connection hands over hundreds of messages per system
// call, each parsed in place. Only an incomplete frame at the end of a read
// is kept per connection, which keeps 10,000 idle connections small.
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

  void on_connect(error_code ec);
  void on_request_written(error_code ec);
  void on_response(error_code ec);
  void do_wait();
  void on_readable(error_code ec);
  void read_large_frame();
  // Handles the complete frames in [data, data + size); `limit` is the end
  // of readable memory (padding included). Returns the bytes used.
  std::size_t consume(char* data, std::size_t size, const char* limit, std::int64_t now_ns);
  bool on_frame(const FrameHeader& header, char* payload, const char* limit, std::int64_t now_ns, ConnectionSlot& slot);
  void send(Opcode opcode, std::string_view payload);
  void do_write();
  void on_write(error_code ec);
  void fail(error_code ec, const std::string& what);
  std::uint32_t next_mask();

  LoadWorker& worker_;
  const std::size_t target_;
  const std::size_t index_;
  tcp::socket socket_;
  std::unique_ptr<Upgrade> upgrade_;  // released once the connection is a WebSocket
  std::vector<char> pending_;         // the incomplete frame left by the last read
  std::size_t pending_size_ = 0;
  std::uint64_t pending_needed_ = 0;  // its full size once the header is in
  std::string fragments_;             // a message split over continuation frames
  bool in_fragments_ = false;
  std::string outbox_;                // control frames waiting for the writer
  std::string sending_;
  std::uint32_t mask_state_;
  bool writing_ = false;
  bool up_ = false;
  bool done_ = false;
};

}  // namespace tickrelay::client
