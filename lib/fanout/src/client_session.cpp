#include "client_session.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <boost/asio/write.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include "control_message.hpp"
#include "hooked_policy.hpp"
#include "queued_write_stream.hpp"
#include "relay_policy.hpp"
#include "send_queue.hpp"
#include "tickrelay/fanout/client_session_base.hpp"
#include "tickrelay/fanout/stream_catalog.hpp"
#include "tickrelay/fanout/stream_name.hpp"
#include "tickrelay/wire/duration.hpp"

namespace tickrelay::fanout {
namespace {

namespace websocket = beast::websocket;

// Frames lent to one write: the kernel's IOV_MAX for one sendmsg.
constexpr std::size_t kMaxGather = 1024;
// A client's control messages mostly fit one piece read in the session.
constexpr std::size_t kReadPiece = 64;
// A long message's buffer is kept up to this size once handled.
constexpr std::size_t kKeptMessageBytes = 1024;
// The close reasons of a slow consumer, by the bound it passed.
constexpr const char* kOverQueueBytes = "slow consumer: send queue over limit";
constexpr const char* kLagging = "slow consumer: lagging more than max_client_lag";
// A TLS client's write copy above this is freed once written.
constexpr std::size_t kKeptTlsBuffer = 64 * 1024;

tcp::socket& lowest_socket(tcp::socket& s) { return s; }
tcp::socket& lowest_socket(ssl::stream<tcp::socket>& s) { return s.next_layer(); }

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

template <class Stream, template <class> class Policy>
class ClientSession final : public ClientSessionBase, private WireSink {
  friend Policy<ClientSession>;

 public:
  ClientSession(Stream stream, RequestTarget target, ClientRegistry& registry, ClientRegistry::Admission admission,
                SessionHooks* hooks)
      : ws_(static_cast<WireSink&>(*this), std::move(stream)),
        registry_(registry),
        admission_(std::move(admission)),
        url_streams_(target.streams),
        prefix_(target.prefix),
        microsecond_(target.microsecond),
        queue_(registry.config().client_queue_bytes, registry.counters().client_queue_bytes),
        policy_(*this, hooks, target),
        combined_(target.combined),
        tokens_(registry.config().client_message_rate),
        last_refill_(Clock::now()),
        input_budget_(input_bytes_per_second()),
        input_refill_(last_refill_) {
    error_code ec;
    const auto endpoint = lowest_socket(ws_.next_layer().next_layer()).remote_endpoint(ec);
    peer_ = ec ? std::string("?") : endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  }

  ~ClientSession() override {
    registry_.remove(this);
    end(DisconnectReason::network_error, Ending::drop);
  }

  void run(UpgradeRequest request) {
    const auto& config = registry_.config();
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = wire::to_duration(config.handshake_timeout_seconds);
    // Idle clients are pinged and closed by the registry's one sweep
    // (check_idle), not by a timer per connection.
    timeouts.idle_timeout = websocket::stream_base::none();
    timeouts.keep_alive_pings = false;
    ws_.set_option(timeouts);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(beast::http::field::server, "tickrelay/" TICKRELAY_VERSION); }));
    ws_.read_message_max(config.max_client_message_bytes);
    ws_.auto_fragment(false);
    ws_.control_callback([this](websocket::frame_type kind, beast::string_view) {
      heard();
      // Binance counts pings and pongs against the message limit too.
      if (kind != websocket::frame_type::close) count_message();
    });
    ws_.async_accept(request, [self = shared()](error_code ec) { self->on_accept(ec); });
  }

  // From Router::publish: the frame was read upstream just now, so its
  // reception time stands for "now" (no clock read per client).
  void deliver(const FramePtr& frame) override {
    if (state_ != State::open) return;
    if constexpr (Policy<ClientSession>::kHooked) {
      const auto action = policy_.on_frame(frame);
      if (!action.frame) return;
      queue_data(action.frame, frame->received());
      if (action.drop_after && state_ == State::open) {
        // Nothing more is taken; the connection drops right behind this
        // frame. Posted, as the router is walking its list.
        state_ = State::leaving;
        net::post(registry_.io(),
                  [self = shared()] { self->end(DisconnectReason::network_error, Ending::after_flush); });
      }
    } else {
      queue_data(frame, frame->received());
    }
  }

  void flush() override {
    flush_marked_ = false;
    if (!writing_ && queue_.has_pending()) do_write();
  }

  void shutdown() override {
    if (state_ != State::open) return;
    // Queued frames still go out before the close frame (drain on SIGTERM).
    end(DisconnectReason::shutdown, Ending::close_after_drain,
        websocket::close_reason(websocket::close_code::going_away, "server shutting down"));
  }

  void abort() override { end(DisconnectReason::network_error, Ending::drop); }

  void check_idle(Clock::time_point now, Clock::duration idle) override {
    if (state_ == State::ended) {
      // Our last frames (a close reply, a refusal) wait for a client that
      // does not read: it is cut off after the closing handshake's time.
      if (lowest_socket(ws_.next_layer().next_layer()).is_open() &&
          now - ended_at_ > wire::to_duration(registry_.config().handshake_timeout_seconds)) {
        drop_socket();
      }
      return;
    }
    if (state_ != State::open) return;
    if (now - last_heard_ >= 2 * idle) {
      registry_.log().debug("client idle peer={}: no answer to our ping", peer_);
      return end(DisconnectReason::idle_timeout, Ending::drop);
    }
    if (now - last_heard_ >= idle && !idle_pinged_) {
      idle_pinged_ = true;
      ping();
    }
  }

  // One ping at a time (the library takes no more).
  void ping() {
    if (state_ != State::open || pinging_) return;
    pinging_ = true;
    ws_.async_ping({}, [self = shared()](error_code) { self->pinging_ = false; });
  }

  void describe(ClientInfo& out, Clock::time_point now) const override {
    out.peer = peer_;
    out.tls = !std::is_same_v<Stream, tcp::socket>;
    out.open = state_ == State::open;
    out.streams.clear();
    for (const auto name : stream_names()) out.streams.emplace_back(name);
    out.queued_bytes = queue_.bytes();
    out.oldest_queued_seconds = queue_.empty() ? 0.0 : std::chrono::duration<double>(now - queue_.oldest()).count();
    out.messages_sent = sent_messages_;
    out.connected_at = connected_at_;
  }

  void stream_retired(StreamId id) override {
    const auto it = find_subscription(id);
    if (it == subs_.end() || state_ != State::open) return;
    const std::string name = it->name;
    registry_.router().unsubscribe(id, this);
    subs_.erase(it);
    send_text(
        make_error(ControlError{kInvalidRequest,
                                "Invalid request: stream `" + name + "` is no longer carried by this relay", "null"}));
  }

 private:
  // One state per session; what it may still do follows from it alone.
  enum class State : std::uint8_t {
    handshake,  // WebSocket accept under way; not yet counted as connected
    open,       // subscribed and taking frames
    leaving,    // its end is posted (decided inside Router::publish, whose list
                // must not change under it): takes nothing more
    ended,      // counted and unsubscribed once; the socket goes as the Ending said
  };

  // How end() lets the socket go.
  enum class Ending : std::uint8_t {
    close_now,          // free the backlog, then a close frame (a slow or abusive client)
    close_after_drain,  // a close frame behind what is queued (shutdown)
    answer_close,       // the library's close frame goes out, the data backlog does not
    after_flush,        // everything queued goes out, then the socket closes (no close frame of ours)
    drop,               // free the backlog and close the socket now (the network failed)
  };

  // subs_ is kept in stream id order, so the router's slot questions are a
  // binary search; `order` is when it was subscribed (LIST_SUBSCRIPTIONS).
  struct Subscription {
    StreamId id;
    SubscriberSlot slot;
    std::uint32_t order;
    std::string name;
  };

  // The names in the order they were subscribed.
  std::vector<std::string_view> stream_names() const {
    std::vector<const Subscription*> in_order;
    in_order.reserve(subs_.size());
    for (const auto& s : subs_) in_order.push_back(&s);
    std::sort(in_order.begin(), in_order.end(), [](const auto* a, const auto* b) { return a->order < b->order; });
    std::vector<std::string_view> names;
    names.reserve(in_order.size());
    for (const auto* s : in_order) names.push_back(s->name);
    return names;
  }

  std::vector<Subscription>::iterator find_subscription(StreamId id) {
    const auto it = std::lower_bound(subs_.begin(), subs_.end(), id,
                                     [](const auto& s, StreamId v) { return s.id < v; });
    return it != subs_.end() && it->id == id ? it : subs_.end();
  }

  // Router: where this session sits in a stream's list.
  SubscriberSlot slot(StreamId id) const override {
    const auto it = std::lower_bound(subs_.begin(), subs_.end(), id,
                                     [](const auto& s, StreamId v) { return s.id < v; });
    return it != subs_.end() && it->id == id ? it->slot : kNoSlot;
  }
  void set_slot(StreamId id, SubscriberSlot slot) override {
    if (const auto it = find_subscription(id); it != subs_.end()) it->slot = slot;
  }

  bool is_open() const { return state_ == State::open; }

  std::shared_ptr<ClientSession> shared() { return std::static_pointer_cast<ClientSession>(shared_from_this()); }

  void on_accept(error_code ec) {
    // A refused upgrade (a bad Sec-WebSocket-Version or key): the library's
    // HTTP answer (426, 400) goes out before the socket closes.
    if (ec) {
      if (ec != beast::error::timeout)
        ++registry_.counters().handshakes_refused[static_cast<std::size_t>(RefusalReason::bad_request)];
      return fail(ec, "accept", Ending::after_flush);
    }
    state_ = State::open;
    connected_at_ = std::chrono::system_clock::now();
    last_heard_ = Clock::now();
    registry_.add(this);
    ++registry_.counters().clients_connected;
    registry_.log().debug("client connected peer={} target_streams={} combined={}", peer_, url_streams_.size(),
                          combined_);
    if constexpr (Policy<ClientSession>::kHooked) {
      policy_.opened();
      if (state_ != State::open) return;  // a hook may end it at once
    }
    // Streams named in the URL; one the relay does not carry is reported in
    // Binance's error shape and the others still flow.
    subscribe(url_streams_, "null", false);
    std::vector<std::string>().swap(url_streams_);
    do_read();
  }

  // Reads a message piece by piece into a small buffer in the session: an
  // idle client (nearly all of them) holds no read buffer on the heap. A
  // message that does not fit in one piece is gathered in message_.
  void do_read() {
    ws_.async_read_some(net::buffer(piece_), [self = shared()](error_code ec, std::size_t n) { self->on_read(ec, n); });
  }

  // Every byte a client sends is paid for, before the library parses it:
  // at most client_message_rate messages of max_client_message_bytes a
  // second, with a burst of one second's worth. Frames that never complete
  // a message (empty continuations) and control frames cost the same, so
  // no kind of input escapes the bound. Past it, 1008 as for the rate.
  double input_bytes_per_second() const {
    const auto& config = registry_.config();
    return config.client_message_rate * static_cast<double>(config.max_client_message_bytes);
  }

  void read_from_client(std::size_t n) override {
    const double per_second = input_bytes_per_second();
    const auto now = Clock::now();
    input_budget_ = std::min(per_second,
                             input_budget_ + per_second * std::chrono::duration<double>(now - input_refill_).count());
    input_refill_ = now;
    input_budget_ -= static_cast<double>(n);
    if (input_budget_ >= 0 || state_ != State::open) return;
    // Inside the library's read: the end is posted.
    state_ = State::leaving;
    net::post(registry_.io(), [self = shared()] {
      self->end(DisconnectReason::rate_limit, Ending::close_now,
                websocket::close_reason(websocket::close_code::policy_error, "too many messages"));
    });
  }

  void heard() {
    last_heard_ = Clock::now();
    idle_pinged_ = false;
  }

  void on_read(error_code ec, std::size_t n) {
    // Once the library has queued a close frame of its own (the answer to
    // the client's close, or 1009 for an oversized message), it still goes
    // out before the socket closes.
    if (ec) return fail(ec, "read", close_when_flushed_ ? Ending::answer_close : Ending::drop);
    // A session that is ending takes no request: a SUBSCRIBE read after
    // its end would put it back in the router after its last unsubscribe.
    // The library reads on for its closing handshake.
    if (state_ != State::open) return;
    heard();
    const std::string_view piece(piece_.data(), n);
    if (!ws_.is_message_done()) {
      message_.append(piece);  // read_message_max bounds it
      return do_read();
    }
    if (!count_message()) return;
    if (message_.empty()) {
      handle_request(piece);
    } else {
      message_.append(piece);
      handle_request(message_);
      message_.clear();
      if (message_.capacity() > kKeptMessageBytes) std::string().swap(message_);
    }
    if (state_ == State::open) do_read();
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
    if (state_ == State::open) {
      end(DisconnectReason::rate_limit, Ending::close_now,
          websocket::close_reason(websocket::close_code::policy_error, "too many messages"));
    }
    return false;
  }

  void handle_request(std::string_view text) {
    ++registry_.counters().client_requests;
    auto parsed = parse_control_message(text);
    if (auto* error = std::get_if<ControlError>(&parsed)) return send_text(make_error(*error));
    auto& request = std::get<ControlRequest>(parsed);
    switch (request.method) {
      case Method::subscribe: return subscribe(request.streams, request.id, true);
      case Method::unsubscribe: {
        // One pass, whatever the number of names and of subscriptions.
        const std::unordered_set<std::string_view> gone(request.streams.begin(), request.streams.end());
        std::erase_if(subs_, [&](const Subscription& s) {
          if (!gone.contains(s.name)) return false;
          leave_stream(s);
          return true;
        });
        return send_text(make_result("null", request.id));
      }
      case Method::list_subscriptions: return send_text(make_result(make_string_list(stream_names()), request.id));
      case Method::set_property: combined_ = request.value; return send_text(make_result("null", request.id));
      case Method::get_property: return send_text(make_result(combined_ ? "true" : "false", request.id));
    }
  }

  // A silent subscription (kSilentStream) is only listed: the router never
  // had it.
  void leave_stream(const Subscription& s) {
    if (s.id != kSilentStream) registry_.router().unsubscribe(s.id, this);
  }

  // Resolves every name first, so a request is applied whole or refused
  // whole; then subscribes and replays last values after the response.
  // The per-connection cap applies before any name is resolved: resolving
  // may subscribe upstream (subscribe_on_demand).
  // A URL token that is not a stream name (a client's own connection
  // counter, /ws/0) carries nothing and is listed by nothing, as on Binance.
  void subscribe(const std::vector<std::string>& names, const std::string& id, bool respond) {
    if (state_ != State::open) return;  // only an open session is in the router
    std::unordered_set<std::string_view> seen;
    seen.reserve(subs_.size() + names.size());
    for (const auto& s : subs_) seen.insert(s.name);
    std::vector<std::string_view> fresh;
    for (const auto& name : names) {
      if (!respond && !parse_stream_name(name)) continue;
      if (seen.insert(name).second) fresh.push_back(name);
    }
    const auto limit = registry_.config().max_streams_per_client;
    if (subs_.size() + fresh.size() > limit) {
      return send_text(make_error(
          ControlError{kInvalidRequest,
                       "Invalid request: too many streams: at most " + std::to_string(limit) + " per connection", id}));
    }
    std::vector<std::pair<StreamId, std::string_view>> added;
    std::string error;
    for (const auto name : fresh) {
      const auto stream = registry_.catalog().resolve(name, prefix_, microsecond_, error);
      if (stream == kNoStream) {
        if (respond) return send_text(make_error(ControlError{kInvalidRequest, "Invalid request: " + error, id}));
        // From the URL: report it and go on with the rest.
        send_text(make_error(ControlError{kInvalidRequest, "Invalid request: " + error, id}));
        continue;
      }
      added.emplace_back(stream, name);
    }
    if (respond) send_text(make_result("null", id));
    auto& router = registry_.router();
    const auto now = Clock::now();
    for (const auto& [stream, name] : added) {
      // Two spellings of one stream subscribe it once.
      const auto at = std::lower_bound(subs_.begin(), subs_.end(), stream,
                                       [](const auto& s, StreamId v) { return s.id < v; });
      if (stream == kSilentStream) {
        subs_.insert(at, Subscription{stream, kNoSlot, next_order_++, std::string(name)});
        continue;
      }
      if (at != subs_.end() && at->id == stream) continue;
      subs_.insert(at, Subscription{stream, kNoSlot, next_order_++, std::string(name)});
      router.subscribe(stream, this);
      if (const auto& last = router.last_value(stream); last && state_ == State::open) {
        if constexpr (Policy<ClientSession>::kHooked) {
          deliver(last);
        } else {
          queue_data(last, now);  // a replay joins the queue now, however old the event
        }
      }
    }
  }

  void queue_data(const FramePtr& frame, Clock::time_point now) {
    // No stale data: a client whose oldest queued frame is older than
    // max_client_lag is closed rather than served late.
    if (!queue_.empty() && now - queue_.oldest() > registry_.max_client_lag()) {
      return leave(DisconnectReason::lagging, kLagging);
    }
    if (queue_.push(frame, frame->wire(combined_), now) == SendQueue::PushResult::over_bound) {
      return leave(DisconnectReason::slow_consumer, kOverQueueBytes);
    }
    request_flush();
  }

  // A slow consumer takes nothing more and is closed with 1008 and its
  // backlog freed. Ending edits the router, which may be walking its list
  // right now: posted.
  void leave(DisconnectReason why, const char* reason) {
    state_ = State::leaving;
    registry_.note_shed(why);
    net::post(registry_.io(), [self = shared(), why, reason] {
      self->end(why, Ending::close_now, websocket::close_reason(websocket::close_code::policy_error, reason));
    });
  }

  // A text frame of our own (a control reply); only while open.
  // Bounded like data: a client that sends requests and never reads their
  // answers is a slow consumer too.
  void send_text(std::string_view payload) {
    if (state_ != State::open) return;
    auto frame = Frame::from_text(payload);
    if (queue_.push(frame, frame->envelope_wire(), Clock::now()) == SendQueue::PushResult::over_bound) {
      return leave(DisconnectReason::slow_consumer, kOverQueueBytes);
    }
    request_flush();
  }

  // WireSink: the library's handshake response, pongs and close frames.
  void write_library_bytes(std::string bytes) override {
    if constexpr (Policy<ClientSession>::kHooked) {
      if (policy_.silent()) return;
    }
    auto frame = Frame::from_wire(bytes);
    queue_.push_control(frame, frame->envelope_wire(), Clock::now());
    request_flush();
  }

  // WireSink: the library is done with the socket (its closing handshake,
  // ours or the client's, or a protocol failure); its read says why next.
  void close_after_flush() override {
    close_when_flushed_ = true;
    if (!writing_ && !queue_.has_pending()) close_socket();
  }

  void request_flush() {
    if (writing_ || flush_marked_) return;
    flush_marked_ = true;
    registry_.mark_dirty(shared_from_this());
  }

  void do_write() {
    if (writing_ || !queue_.has_pending()) return;
    const auto now = Clock::now();
    if (state_ == State::open && now - queue_.oldest() > registry_.max_client_lag()) {
      // Its socket has been full for longer than the lag bound.
      registry_.note_shed(DisconnectReason::lagging);
      return end(DisconnectReason::lagging, Ending::close_now,
                 websocket::close_reason(websocket::close_code::policy_error, kLagging));
    }
    registry_.counters().client_lag.observe(std::chrono::duration<double>(now - queue_.oldest()).count());
    if constexpr (std::is_same_v<Stream, tcp::socket>) {
      write_plain(now);
    } else {
      write_tls();
    }
  }

  // Plain sockets: everything queued leaves in one sendmsg of up to
  // kMaxGather frames, made here and now; only a full socket waits for the
  // loop. (Asio's write lends at most 64 buffers to one call and completes
  // through a posted handler; this is one system call per client per batch,
  // and no handler at all when the socket takes it.)
  void write_plain(Clock::time_point now) {
    auto& socket = lowest_socket(ws_.next_layer().next_layer());
    auto& iov = registry_.iovecs(kMaxGather);
    while (queue_.has_pending()) {
      const auto [count, total] = lend(iov);
      msghdr msg{};
      msg.msg_iov = iov.data();
      msg.msg_iovlen = count;
      const ssize_t sent = ::sendmsg(socket.native_handle(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
      ++registry_.counters().client_writes;
      if (sent < 0) {
        const int err = errno;
        queue_.consume(0, [](const FramePtr&) {});
        if (err == EINTR) continue;
        if (err == EAGAIN || err == EWOULDBLOCK) break;
        return fail(error_code(err, boost::system::system_category()), "write");
      }
      retire(static_cast<std::size_t>(sent), now);
      if (static_cast<std::size_t>(sent) < total) break;
    }
    if (queue_.has_pending()) {
      // The socket is full: the rest goes when it can take more.
      writing_ = true;
      socket.async_wait(tcp::socket::wait_write, [self = shared()](error_code ec) {
        self->writing_ = false;
        if (ec) return self->fail(ec, "write");
        self->do_write();
      });
    } else if (close_when_flushed_) {
      close_socket();
    }
  }

  // Lends up to kMaxGather pending frames to one write, as iovecs in
  // `iov`; returns how many and their bytes.
  std::pair<std::size_t, std::size_t> lend(std::vector<iovec>& iov) {
    std::size_t count = 0;
    std::size_t total = 0;
    queue_.gather(
        [&](net::const_buffer b) {
          iov[count++] = iovec{const_cast<void*>(b.data()), b.size()};
          total += b.size();
        },
        kMaxGather);
    return {count, total};
  }

  // TLS encrypts from one buffer per record: gather by copying once.
  void write_tls() {
    auto& iov = registry_.iovecs(kMaxGather);
    const auto [count, total] = lend(iov);
    linear_.resize(total);
    char* out = linear_.data();
    for (std::size_t i = 0; i < count; ++i) {
      std::memcpy(out, iov[i].iov_base, iov[i].iov_len);
      out += iov[i].iov_len;
    }
    writing_ = true;
    ++registry_.counters().client_writes;
    net::async_write(ws_.next_layer().next_layer(), net::buffer(linear_),
                     [self = shared()](error_code ec, std::size_t n) { self->on_tls_write(ec, n); });
  }

  void on_tls_write(error_code ec, std::size_t bytes) {
    writing_ = false;
    retire(bytes, Clock::now());
    // A burst's copy is not kept for a client that lagged once.
    if (linear_.capacity() > kKeptTlsBuffer) std::string().swap(linear_);
    if (ec) return fail(ec, "write");
    if (queue_.has_pending()) {
      do_write();
    } else if (close_when_flushed_) {
      close_socket();
    }
  }

  // `bytes` of what was lent left: retire the frames written whole.
  void retire(std::size_t bytes, Clock::time_point now) {
    auto& counters = registry_.counters();
    counters.delivered_bytes += bytes;
    queue_.consume(bytes, [&](const FramePtr& frame) {
      if (frame->stream() == kNoStream) return;  // our own control frames
      ++counters.delivered_messages;
      ++sent_messages_;
      counters.relay_latency.observe(std::chrono::duration<double>(now - frame->received()).count());
    });
  }

  // The one way a session ends: counted once (if it was ever open), its
  // subscriptions dropped once, its backlog freed or drained as `how` says.
  // Called again on an ended session, only a drop still acts: the drain
  // ran out of time, or the socket failed.
  void end(DisconnectReason why, Ending how, const websocket::close_reason& close = {}) {
    if (state_ == State::ended) {
      if (how == Ending::drop) drop_socket();
      return;
    }
    const bool counted = state_ != State::handshake;
    state_ = State::ended;
    ended_at_ = Clock::now();
    for (const auto& s : subs_) leave_stream(s);
    subs_.clear();
    if (counted) {
      if constexpr (Policy<ClientSession>::kHooked) policy_.closed();
      --registry_.counters().clients_connected;
      ++registry_.counters().client_disconnects[static_cast<std::size_t>(why)];
    }
    switch (how) {
      case Ending::close_now: queue_.drop_pending(); [[fallthrough]];
      case Ending::close_after_drain:
        registry_.log().debug("closing client peer={} code={} reason=\"{}\"", peer_, static_cast<int>(close.code),
                              std::string_view(close.reason.data(), close.reason.size()));
        ws_.async_close(close, [self = shared()](error_code ec) {
          if (ec && ec != net::error::operation_aborted) self->fail(ec, "close");
        });
        return;
      case Ending::answer_close: queue_.drop_pending_data(); [[fallthrough]];
      case Ending::after_flush: close_after_flush(); return;
      case Ending::drop: drop_socket(); return;
    }
  }

  void fail(error_code ec, const char* what, Ending how = Ending::drop) {
    if (ec == net::error::operation_aborted && state_ == State::ended) return;
    const auto why = classify(ec);
    if (state_ != State::ended) {
      registry_.log().debug("client gone peer={} during={} reason={} error=\"{}\"", peer_, what, reason_label(why),
                            ec.message());
    }
    end(why, how);
  }

  void drop_socket() {
    queue_.drop_pending();
    close_socket();
  }

  void close_socket() {
    auto& socket = lowest_socket(ws_.next_layer().next_layer());
    error_code ignored;
    socket.shutdown(tcp::socket::shutdown_send, ignored);
    socket.close(ignored);
  }

  websocket::stream<QueuedWriteStream<Stream>> ws_;
  ClientRegistry& registry_;
  ClientRegistry::Admission admission_;
  std::vector<std::string> url_streams_;  // the streams the URL names, until subscribed
  std::string prefix_;                    // the request path's product prefix (/market, ...)
  bool microsecond_;
  SendQueue queue_;
  [[no_unique_address]] Policy<ClientSession> policy_;
  std::vector<Subscription> subs_;
  // TLS: the copy one write encrypts from (nothing for plain sockets).
  struct NoCopy {};
  [[no_unique_address]] std::conditional_t<std::is_same_v<Stream, tcp::socket>, NoCopy, std::string> linear_;
  std::array<char, kReadPiece> piece_;
  std::string message_;  // a message longer than one piece, while it arrives
  std::string peer_;
  State state_ = State::handshake;
  bool combined_;
  // Independent of the state: a write is in flight; the session waits in
  // the registry's flush list; the socket closes once the queue is written.
  bool writing_ = false;
  bool flush_marked_ = false;
  bool close_when_flushed_ = false;
  bool pinging_ = false;
  bool idle_pinged_ = false;
  Clock::time_point last_heard_{};  // the client's last frame of any kind
  double tokens_;
  Clock::time_point last_refill_;
  double input_budget_;  // bytes the client may still send now
  Clock::time_point input_refill_;
  Clock::time_point ended_at_{};
  std::uint32_t next_order_ = 0;
  std::uint64_t sent_messages_ = 0;
  std::chrono::system_clock::time_point connected_at_{};
};

template <class Stream>
void start(Stream stream, UpgradeRequest request, RequestTarget target, ClientRegistry& registry,
           ClientRegistry::Admission admission) {
  if (auto* hooks = registry.hooks()) {
    std::make_shared<ClientSession<Stream, HookedPolicy>>(std::move(stream), std::move(target), registry,
                                                          std::move(admission), hooks)
        ->run(std::move(request));
  } else {
    std::make_shared<ClientSession<Stream, RelayPolicy>>(std::move(stream), std::move(target), registry,
                                                         std::move(admission), nullptr)
        ->run(std::move(request));
  }
}

}  // namespace

void start_client_session(tcp::socket socket, UpgradeRequest request, RequestTarget target, ClientRegistry& registry,
                          ClientRegistry::Admission admission) {
  start(std::move(socket), std::move(request), std::move(target), registry, std::move(admission));
}

void start_client_session(ssl::stream<tcp::socket> stream, UpgradeRequest request, RequestTarget target,
                          ClientRegistry& registry, ClientRegistry::Admission admission) {
  start(std::move(stream), std::move(request), std::move(target), registry, std::move(admission));
}

}  // namespace tickrelay::fanout
