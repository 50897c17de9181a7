#include "client_session.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <chrono>
#include <string>
#include <variant>
#include <vector>

#include "control_message.hpp"
#include "queued_write_stream.hpp"
#include "send_queue.hpp"
#include "tickrelay/fanout/session_hooks.hpp"
#include "tickrelay/fanout/stream_catalog.hpp"

namespace tickrelay::fanout {
namespace {

namespace websocket = beast::websocket;
using fanout::DisconnectReason;
using fanout::Clock;
using fanout::FramePtr;
using fanout::StreamId;

// Asio writes at most 64 buffers per writev; a batch of 1024 frames is 16
// system calls in one operation, and bounds the buffers lent to one write.
constexpr std::size_t kMaxGather = 1024;

tcp::socket& lowest_socket(tcp::socket& s) { return s; }
tcp::socket& lowest_socket(ssl::stream<tcp::socket>& s) { return s.next_layer(); }

// A small text frame of our own (a control response), framed for the wire.
FramePtr text_frame(std::string_view payload) {
  std::string wire(wire::frame_header_size(payload.size()) + payload.size(), '\0');
  const auto header = wire::write_frame_header(wire.data(), payload.size());
  std::copy(payload.begin(), payload.end(), wire.begin() + static_cast<std::ptrdiff_t>(header));
  return fanout::Frame::from_wire(wire);
}

DisconnectReason classify(const error_code& ec) {
  if (ec == websocket::error::closed || ec == net::error::eof || ec == net::ssl::error::stream_truncated)
    return DisconnectReason::client_closed;
  if (ec == beast::error::timeout) return DisconnectReason::idle_timeout;
  if (ec == websocket::error::message_too_big || ec == websocket::error::buffer_overflow)
    return DisconnectReason::message_too_big;
  if (ec == websocket::condition::protocol_violation || ec == websocket::condition::handshake_failed)
    return DisconnectReason::protocol_error;
  return DisconnectReason::network_error;
}

template <class Stream>
class ClientSession final : public ClientSessionBase, private WireSink, private SessionControl {
 public:
  ClientSession(Stream stream, RequestTarget target, ClientRegistry& registry, ClientRegistry::Admission admission)
      : ws_(static_cast<WireSink&>(*this), std::move(stream)),
        registry_(registry),
        admission_(std::move(admission)),
        target_(std::move(target)),
        queue_(registry.config().client_queue_bytes),
        combined_(target_.combined),
        tokens_(registry.config().client_message_rate),
        last_refill_(Clock::now()) {
    error_code ec;
    const auto endpoint = lowest_socket(ws_.next_layer().next_layer()).remote_endpoint(ec);
    peer_ = ec ? std::string("?") : endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  }

  ~ClientSession() override {
    registry_.remove(this);
    record_end(DisconnectReason::network_error);
    registry_.counters().client_queue_bytes -= queue_.bytes();
  }

  void run(UpgradeRequest request) {
    const auto& config = registry_.config();
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = to_duration(config.handshake_timeout_seconds);
    // Beast pings after half the idle timeout and closes after the whole:
    // idle_ping seconds of silence, then as long again to answer.
    timeouts.idle_timeout = to_duration(2 * config.idle_ping_seconds);
    timeouts.keep_alive_pings = true;
    ws_.set_option(timeouts);
    ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
      res.set(beast::http::field::server, "tickrelay/" TICKRELAY_VERSION);
    }));
    ws_.read_message_max(config.max_client_message_bytes);
    ws_.auto_fragment(false);
    ws_.control_callback([this](websocket::frame_type kind, beast::string_view) {
      // Binance counts pings and pongs against the message limit too.
      if (kind != websocket::frame_type::close) count_message();
    });
    ws_.async_accept(request, [self = shared()](error_code ec) { self->on_accept(ec); });
  }

  void deliver(const FramePtr& original) override {
    // After a frame marked abort_after, nothing more is taken: the
    // connection ends right behind it.
    if (closing_ || paused_ || abort_after_flush_) return;
    const FramePtr* chosen = &original;
    SessionHooks::FrameAction action;
    if (auto* hooks = registry_.hooks()) {
      action = hooks->on_frame(*this, original);
      if (!action.frame) return;
      abort_after_flush_ = abort_after_flush_ || action.abort_after;
      chosen = &action.frame;
    }
    const FramePtr& frame = *chosen;
    const auto wire = frame->wire(combined_);
    if (!queue_.push(frame, wire)) {
      // Closing edits the router, which is walking its list right now: post.
      closing_ = true;
      net::post(registry_.io(), [self = shared()] {
        self->close_now(websocket::close_code::policy_error, "slow consumer: send queue over limit",
                        DisconnectReason::slow_consumer);
      });
      return;
    }
    registry_.counters().client_queue_bytes += wire.size();
    request_flush();
  }

  void flush() override {
    flush_marked_ = false;
    if (!writing_ && queue_.has_pending()) do_write();
  }

  void shutdown() override {
    if (closing_ || !open_) return;
    // Queued frames still go out before the close frame (drain on SIGTERM).
    close_now(websocket::close_code::going_away, "server shutting down", DisconnectReason::shutdown, false);
  }

  void stream_retired(StreamId id) override {
    const auto it = std::find_if(subs_.begin(), subs_.end(), [id](const auto& s) { return s.id == id; });
    if (it == subs_.end() || closing_) return;
    const std::string name = it->name;
    registry_.router().unsubscribe(id, this);
    subs_.erase(it);
    send_text(make_error(ControlError{kInvalidRequest,
                                      "Invalid request: stream `" + name + "` is no longer carried by this relay",
                                      "null"}));
  }

 private:
  struct Subscription {
    StreamId id;
    std::string name;
  };

  static std::chrono::steady_clock::duration to_duration(double seconds) {
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
  }

  std::shared_ptr<ClientSession> shared() { return std::static_pointer_cast<ClientSession>(shared_from_this()); }

  void on_accept(error_code ec) {
    if (ec) return fail(ec, "accept");
    open_ = true;
    registry_.add(this);
    if (auto* hooks = registry_.hooks()) hooks->opened(*this);
    ++registry_.counters().clients_connected;
    registry_.log().debug("client connected peer={} target_streams={} combined={}", peer_, target_.streams.size(),
                          combined_);
    // Streams named in the URL; one the relay does not carry is reported in
    // Binance's error shape and the others still flow.
    subscribe(target_.streams, "null", false);
    do_read();
  }

  void do_read() {
    ws_.async_read(read_buffer_, [self = shared()](error_code ec, std::size_t n) { self->on_read(ec, n); });
  }

  void on_read(error_code ec, std::size_t) {
    if (ec) return fail(ec, "read");
    if (!count_message()) return;
    const auto data = read_buffer_.cdata();
    const std::string_view text(static_cast<const char*>(data.data()), data.size());
    handle_request(text);
    read_buffer_.consume(read_buffer_.size());
    if (!closing_) do_read();
  }

  // Token bucket at client_message_rate with a burst of one second's worth;
  // a client past it is closed, as Binance does.
  bool count_message() {
    const double rate = registry_.config().client_message_rate;
    const auto now = Clock::now();
    tokens_ = std::min(rate, tokens_ + rate * std::chrono::duration<double>(now - last_refill_).count());
    last_refill_ = now;
    if (tokens_ >= 1) {
      tokens_ -= 1;
      return true;
    }
    if (!closing_) {
      close_now(websocket::close_code::policy_error, "too many messages", DisconnectReason::rate_limit);
    }
    return false;
  }

  void handle_request(std::string_view text) {
    ++registry_.counters().client_requests;
    auto parsed = parse_control_message(text);
    if (auto* error = std::get_if<ControlError>(&parsed)) return send_text(make_error(*error));
    auto& request = std::get<ControlRequest>(parsed);
    switch (request.method) {
      case Method::subscribe:
        return subscribe(request.streams, request.id, true);
      case Method::unsubscribe:
        for (const auto& name : request.streams) {
          const auto it = std::find_if(subs_.begin(), subs_.end(), [&](const auto& s) { return s.name == name; });
          if (it == subs_.end()) continue;
          registry_.router().unsubscribe(it->id, this);
          subs_.erase(it);
        }
        return send_text(make_result("null", request.id));
      case Method::list_subscriptions: {
        std::vector<std::string_view> names;
        names.reserve(subs_.size());
        for (const auto& s : subs_) names.push_back(s.name);
        return send_text(make_result(make_string_list(names), request.id));
      }
      case Method::set_property:
        combined_ = request.value;
        return send_text(make_result("null", request.id));
      case Method::get_property:
        return send_text(make_result(combined_ ? "true" : "false", request.id));
    }
  }

  // Resolves every name first, so a request is applied whole or refused
  // whole; then subscribes and replays last values after the response.
  void subscribe(const std::vector<std::string>& names, const std::string& id, bool respond) {
    auto& router = registry_.router();
    std::vector<Subscription> added;
    std::string error;
    for (const auto& name : names) {
      if (std::any_of(subs_.begin(), subs_.end(), [&](const auto& s) { return s.name == name; }) ||
          std::any_of(added.begin(), added.end(), [&](const auto& s) { return s.name == name; }))
        continue;
      const auto stream = registry_.catalog().resolve(name, target_.prefix, target_.microsecond, error);
      if (stream == fanout::kNoStream) {
        if (respond) return send_text(make_error(ControlError{kInvalidRequest, "Invalid request: " + error, id}));
        // From the URL: report it and go on with the rest.
        send_text(make_error(ControlError{kInvalidRequest, "Invalid request: " + error, id}));
        continue;
      }
      added.push_back(Subscription{stream, name});
    }
    const auto limit = registry_.config().max_streams_per_client;
    if (subs_.size() + added.size() > limit) {
      return send_text(make_error(ControlError{
          kInvalidRequest,
          "Invalid request: too many streams: at most " + std::to_string(limit) + " per connection", id}));
    }
    if (respond) send_text(make_result("null", id));
    for (auto& s : added) {
      router.subscribe(s.id, this);
      if (const auto& last = router.last_value(s.id)) deliver(last);
      subs_.push_back(std::move(s));
    }
  }

  // SessionControl, for the hooks.
  const RequestTarget& target() const override { return target_; }
  bool combined() const override { return combined_; }
  void set_paused(bool paused) override { paused_ = paused; }

  void ping() override {
    if (closing_ || paused_ || pinging_) return;
    pinging_ = true;
    ws_.async_ping({}, [self = shared()](error_code) { self->pinging_ = false; });
  }

  void close(std::uint16_t code, const std::string& reason) override {
    if (closing_) return;
    close_reason_ = reason;
    close_now(static_cast<websocket::close_code>(code), close_reason_.c_str(), DisconnectReason::shutdown, false);
  }

  void abort() override {
    record_end(DisconnectReason::network_error);
    const auto before = queue_.bytes();
    queue_.drop_pending();
    registry_.counters().client_queue_bytes -= before - queue_.bytes();
    close_socket();
  }

  void send_text(const std::string& payload) override {
    if (closing_) return;
    auto frame = text_frame(payload);
    queue_.push_control(frame, frame->envelope_wire());
    registry_.counters().client_queue_bytes += frame->envelope_wire().size();
    request_flush();
  }

  void write_library_bytes(std::string bytes) override {
    if (paused_) return;  // a stalled server answers nothing, pongs included
    auto frame = fanout::Frame::from_wire(bytes);
    queue_.push_control(frame, frame->envelope_wire());
    registry_.counters().client_queue_bytes += bytes.size();
    request_flush();
  }

  void close_after_flush() override {
    close_after_flush_ = true;
    if (!writing_ && !queue_.has_pending()) close_socket();
  }

  void request_flush() {
    if (writing_ || flush_marked_) return;
    flush_marked_ = true;
    registry_.mark_dirty(shared_from_this());
  }

  void do_write() {
    buffers_.clear();
    queue_.gather(buffers_, kMaxGather);
    writing_ = true;
    auto& stream = ws_.next_layer().next_layer();
    if constexpr (std::is_same_v<Stream, tcp::socket>) {
      net::async_write(stream, buffers_, [self = shared()](error_code ec, std::size_t n) { self->on_write(ec, n); });
    } else {
      // TLS encrypts from one buffer per record: gather by copying once.
      linear_.resize(net::buffer_size(buffers_));
      net::buffer_copy(net::buffer(linear_), buffers_);
      net::async_write(stream, net::buffer(linear_),
                       [self = shared()](error_code ec, std::size_t n) { self->on_write(ec, n); });
    }
  }

  void on_write(error_code ec, std::size_t bytes) {
    writing_ = false;
    auto& counters = registry_.counters();
    const auto now = Clock::now();
    const auto before = queue_.bytes();
    queue_.consume([&](const FramePtr& frame) {
      if (frame->stream() == fanout::kNoStream) return;  // our own control frames
      ++counters.delivered_messages;
      counters.relay_latency.observe(std::chrono::duration<double>(now - frame->received()).count());
    });
    counters.client_queue_bytes -= before - queue_.bytes();
    if (ec) return fail(ec, "write");
    counters.delivered_bytes += bytes;
    if (queue_.has_pending()) {
      do_write();
    } else if (abort_after_flush_) {
      abort();
    } else if (close_after_flush_) {
      close_socket();
    }
  }

  // Sends close with `code` and stops taking frames. `drop_backlog`: free
  // what is queued at once (a slow or abusive client) rather than drain it.
  void close_now(websocket::close_code code, const char* reason, DisconnectReason why, bool drop_backlog = true) {
    if (closed_) return;
    closing_ = true;
    record_end(why);
    if (drop_backlog) {
      const auto before = queue_.bytes();
      queue_.drop_pending();
      registry_.counters().client_queue_bytes -= before - queue_.bytes();
    }
    registry_.log().debug("closing client peer={} code={} reason=\"{}\"", peer_, static_cast<int>(code), reason);
    ws_.async_close(websocket::close_reason(code, reason), [self = shared()](error_code ec) {
      if (ec && ec != net::error::operation_aborted) self->fail(ec, "close");
    });
  }

  void close_socket() {
    auto& socket = lowest_socket(ws_.next_layer().next_layer());
    error_code ignored;
    socket.shutdown(tcp::socket::shutdown_send, ignored);
    socket.close(ignored);
  }

  // Ends the session's part in the relay: no more frames, counted once.
  void record_end(DisconnectReason why) {
    if (closed_) return;
    closed_ = true;
    closing_ = true;
    if (auto* hooks = registry_.hooks(); hooks != nullptr && open_) hooks->closed(*this);
    for (const auto& s : subs_) registry_.router().unsubscribe(s.id, this);
    subs_.clear();
    if (open_) {
      --registry_.counters().clients_connected;
      ++registry_.counters().client_disconnects[static_cast<std::size_t>(why)];
    }
  }

  void fail(error_code ec, const char* what) {
    if (ec == net::error::operation_aborted && closed_) return;
    const auto why = classify(ec);
    if (!closed_) {
      registry_.log().debug("client gone peer={} during={} reason={} error=\"{}\"", peer_, what,
                            fanout::reason_label(why), ec.message());
    }
    record_end(why);
    const auto before = queue_.bytes();
    queue_.drop_pending();
    registry_.counters().client_queue_bytes -= before - queue_.bytes();
    close_socket();
  }

  websocket::stream<QueuedWriteStream<Stream>> ws_;
  ClientRegistry& registry_;
  ClientRegistry::Admission admission_;
  RequestTarget target_;
  SendQueue queue_;
  std::vector<Subscription> subs_;
  std::vector<net::const_buffer> buffers_;
  std::string linear_;
  beast::flat_buffer read_buffer_;
  std::string peer_;
  bool combined_;
  bool open_ = false;
  bool writing_ = false;
  bool flush_marked_ = false;
  bool closing_ = false;
  bool closed_ = false;
  bool close_after_flush_ = false;
  bool abort_after_flush_ = false;
  bool paused_ = false;
  bool pinging_ = false;
  std::string close_reason_;
  double tokens_;
  Clock::time_point last_refill_;
};

}  // namespace

void start_client_session(tcp::socket socket, UpgradeRequest request, RequestTarget target,
                          ClientRegistry& registry, ClientRegistry::Admission admission) {
  std::make_shared<ClientSession<tcp::socket>>(std::move(socket), std::move(target), registry, std::move(admission))
      ->run(std::move(request));
}

void start_client_session(ssl::stream<tcp::socket> stream, UpgradeRequest request, RequestTarget target,
                          ClientRegistry& registry, ClientRegistry::Admission admission) {
  std::make_shared<ClientSession<ssl::stream<tcp::socket>>>(std::move(stream), std::move(target), registry,
                                                            std::move(admission))
      ->run(std::move(request));
}

}  // namespace tickrelay::fanout
