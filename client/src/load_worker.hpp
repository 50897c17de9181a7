#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>

#include "message_processor.hpp"
#include "run_control.hpp"
#include "run_setup.hpp"
#include "target_tally.hpp"
#include "tickrelay/wire/asio.hpp"

namespace tickrelay::client {

class Session;

// One event-loop thread: its own io_context, its connections, one message
// processor and one tally per target. Nothing here is shared with other
// workers except RunControl, so the hot path takes no lock.
class LoadWorker {
 public:
  // Read size for the raw reader, shared by all of this thread's connections:
  // large enough that a busy connection hands over ~2,000 small (130-byte)
  // messages per system call, and allocated once per thread rather than per connection.
  static constexpr std::size_t kReadBufferSize = 256 * 1024;

  LoadWorker(std::size_t index, const RunSetup& setup, RunControl& control);
  LoadWorker(const LoadWorker&) = delete;
  LoadWorker& operator=(const LoadWorker&) = delete;
  ~LoadWorker();

  // Before run(): plans a connection to `target`, opened `offset` after start.
  void add_connection(std::size_t target, std::chrono::nanoseconds offset);
  // The thread body: pins to `cpu` if given, opens connections on schedule
  // and runs the loop until request_stop() and every session has closed.
  void run(std::optional<int> cpu);
  // From any thread.
  void request_stop();
  // From any thread: the warm-up is over; the worker records its counts as
  // they stand (warm_up_end() once it has).
  void mark_warm_up_end();
  // Per target; empty unless the worker took it. Read after run() returned.
  const std::vector<TallySnapshot>& warm_up_end() const { return warm_up_end_; }

  std::size_t index() const { return index_; }
  const TargetTally& tally(std::size_t target) const { return *tallies_[target]; }
  std::size_t target_count() const { return tallies_.size(); }

  // ---- for sessions (this worker's thread only) ----
  net::io_context& loop() { return loop_; }
  const RunSetup& setup() const { return setup_; }
  bool stopping() const { return control_.stopping(); }
  // The thread's read buffer: kReadBufferSize usable bytes followed by the
  // parser's padding.
  char* read_buffer() { return read_buffer_.data(); }
  std::size_t read_buffer_capacity() const { return read_buffer_.size(); }

  // One complete message; `data` must be readable up to data + capacity with
  // capacity >= size + MessageProcessor::kPadding. Returns false once the run
  // is over, so the caller stops reading.
  bool on_message(std::size_t target, ConnectionSlot& slot, const char* data, std::size_t size, std::size_t capacity,
                  std::int64_t now_ns);
  bool on_message_copy(std::size_t target, ConnectionSlot& slot, std::string_view message, std::int64_t now_ns);

  ConnectionSlot& slot(std::size_t target, std::size_t index) { return tallies_[target]->slots[index]; }
  void attach(std::size_t target, std::size_t index, Session* session);
  void detach(std::size_t target, std::size_t index, Session* session);
  // The session reached the WebSocket stage.
  void on_up(std::size_t target, std::size_t index);
  // The session ended: `was_up` tells a drop from a failed attempt; `why`
  // is kept for the report when it is the target's first fault.
  void on_down(std::size_t target, std::size_t index, bool was_up, const std::string& why);

  static std::int64_t now_ns();

 private:
  struct PlannedStart {
    std::chrono::nanoseconds offset;
    std::size_t target;
    std::size_t index;
  };

  void do_start_next();
  void on_start_timer(error_code ec);
  void open(std::size_t target, std::size_t index);
  void stop_now();
  // Counts what the processor made of a message: latency, gaps, symbols.
  bool on_processed(std::size_t target, ConnectionSlot& slot, MessageClass kind, std::size_t size, std::int64_t now_ns);
  std::uint32_t interval_id(std::string_view interval);

  const std::size_t index_;
  const RunSetup& setup_;
  RunControl& control_;
  net::io_context loop_{1};  // one thread: Asio can skip its internal locking
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  net::steady_timer start_timer_;
  std::chrono::steady_clock::time_point started_;
  std::vector<PlannedStart> plan_;
  std::size_t next_start_ = 0;
  std::vector<std::unique_ptr<TargetTally>> tallies_;
  std::vector<TallySnapshot> warm_up_end_;
  MessageProcessor processor_;
  std::vector<char> read_buffer_;
  std::vector<std::string> intervals_;  // kline intervals seen, for stream keys
  bool stopped_ = false;
};

}  // namespace tickrelay::client
