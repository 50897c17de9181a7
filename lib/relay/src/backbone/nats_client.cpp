#include "tickrelay/relay/nats_client.hpp"

#include <nats/nats.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>

#include "tickrelay/wire/duration.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <stdexcept>

namespace tickrelay::backbone {

// State shared with nats.c's callbacks. Everything but `mutex`/`alive` is
// touched on the loop only; callbacks from nats.c's own threads post there.
// The socket is watched through a duplicate of nats.c's descriptor, so the
// reactor's registration never outlives the socket it was made for: nats.c
// closes its descriptor on its reconnect thread, and the number may be
// reused by then.
struct NatsClient::Adapter : std::enable_shared_from_this<NatsClient::Adapter> {
  explicit Adapter(net::io_context& io) : ioc(io) {}

  net::io_context& ioc;
  std::mutex mutex;
  bool alive = true;  // false once stopped: nats.c's callbacks post nothing more

  NatsClient* client = nullptr;
  natsConnection* nc = nullptr;
  std::unique_ptr<net::posix::stream_descriptor> fd;
  bool want_read = false;
  bool want_write = false;
  bool read_waiting = false;
  bool write_waiting = false;
  bool scheduled = false;
  std::uint64_t generation = 0;

  // Runs `fn` on the loop: at once from the loop's own thread (never inside
  // a call into nats.c: the callbacks only change flags), posted otherwise.
  template <typename Fn>
  void on_loop(Fn fn) {
    std::lock_guard lock(mutex);
    if (!alive) return;
    if (ioc.get_executor().running_in_this_thread()) {
      fn(*this);
    } else {
      net::post(ioc, [self = shared_from_this(), fn = std::move(fn)]() mutable {
        if (self->client != nullptr) fn(*self);
      });
    }
  }

  void attach(int socket) {
    ++generation;
    fd.reset();
    read_waiting = write_waiting = false;
    const int copy = ::dup(socket);
    if (copy < 0) {
      client->log_.warn("backbone could not watch its socket error=\"{}\"", std::strerror(errno));
      return;
    }
    fd = std::make_unique<net::posix::stream_descriptor>(ioc, copy);
    want_read = true;
    schedule();
  }

  void report(bool connected) { client->set_connected(connected); }
  // At most one line per 10 s: a slow consumer can be reported often.
  void report_error(const std::string& what) {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_error_log < std::chrono::seconds(10)) {
      ++errors_unlogged;
      return;
    }
    client->log_.warn("backbone error=\"{}\" unlogged_since_last={}", what, errors_unlogged);
    last_error_log = now;
    errors_unlogged = 0;
  }
  std::chrono::steady_clock::time_point last_error_log{};
  std::uint64_t errors_unlogged = 0;

  void detach() {
    ++generation;
    fd.reset();
    want_read = want_write = read_waiting = write_waiting = false;
  }

  void schedule() {
    if (scheduled || !fd) return;
    scheduled = true;
    net::post(ioc, [self = shared_from_this(), generation = generation] {
      self->scheduled = false;
      if (generation == self->generation) self->service();
    });
  }

  bool usable() const {
    if (nc == nullptr || !fd) return false;
    const auto status = natsConnection_Status(nc);
    return status == NATS_CONN_STATUS_CONNECTED || status == NATS_CONN_STATUS_DRAINING_SUBS ||
           status == NATS_CONN_STATUS_DRAINING_PUBS;
  }

  // Handles what the socket is ready for, then checks again (posted, so
  // other work interleaves) or waits for the reactor. The check is a poll()
  // because the reactor reports readiness by edges: one seen while no wait
  // was pending would otherwise be missed.
  void service() {
    if (!usable() || client == nullptr) return;
    pollfd p{fd->native_handle(), static_cast<short>((want_read ? POLLIN : 0) | (want_write ? POLLOUT : 0)), 0};
    if (p.events == 0) return;
    bool worked = false;
    if (::poll(&p, 1, 0) > 0) {
      if (want_read && (p.revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        natsConnection_ProcessReadEvent(nc);
        client->drain();
        worked = true;
      }
      if (want_write && usable() && (p.revents & (POLLOUT | POLLERR)) != 0) {
        natsConnection_ProcessWriteEvent(nc);
        worked = true;
      }
    }
    if (!usable()) return;  // reconnecting: the next attach starts again
    if (worked) return schedule();
    wait(net::posix::stream_descriptor::wait_read, want_read, read_waiting);
    wait(net::posix::stream_descriptor::wait_write, want_write, write_waiting);
  }

  void wait(net::posix::stream_descriptor::wait_type type, bool wanted, bool& waiting) {
    if (!wanted || waiting) return;
    waiting = true;
    fd->async_wait(type, [self = shared_from_this(), generation = generation, &waiting](error_code ec) {
      if (generation != self->generation) return;
      waiting = false;
      if (!ec) self->service();
    });
  }
};

namespace {

using Adapter = NatsClient::Adapter;

extern "C" {

natsStatus on_attach(void** user_data, void* loop, natsConnection*, natsSock socket) {
  *user_data = loop;
  static_cast<Adapter*>(loop)->on_loop([socket](Adapter& a) { a.attach(socket); });
  return NATS_OK;
}

natsStatus on_read(void* user_data, bool add) {
  static_cast<Adapter*>(user_data)->on_loop([add](Adapter& a) {
    a.want_read = add;
    if (add) a.schedule();
  });
  return NATS_OK;
}

natsStatus on_write(void* user_data, bool add) {
  static_cast<Adapter*>(user_data)->on_loop([add](Adapter& a) {
    a.want_write = add;
    if (add) a.schedule();
  });
  return NATS_OK;
}

natsStatus on_detach(void* user_data) {
  static_cast<Adapter*>(user_data)->on_loop([](Adapter& a) { a.detach(); });
  return NATS_OK;
}

void on_connection_state(natsConnection*, void* closure, bool up) {
  static_cast<Adapter*>(closure)->on_loop([up](Adapter& a) {
    if (a.client != nullptr) a.report(up);
  });
}

// Errors the server sends while connected (a permission refused, a slow
// consumer): logged on the loop.
void on_async_error(natsConnection*, natsSubscription*, natsStatus status, void* closure) {
  std::string what = natsStatus_GetText(status);
  static_cast<Adapter*>(closure)->on_loop([what = std::move(what)](Adapter& a) {
    if (a.client != nullptr) a.report_error(what);
  });
}

void on_connected(natsConnection* nc, void* closure) { on_connection_state(nc, closure, true); }

// nats.c gave the connection up (its authorization refused, or its first
// TLS handshakes failing): the client starts a new one later.
void on_connection_closed(natsConnection*, void* closure) {
  static_cast<Adapter*>(closure)->on_loop([](Adapter& a) {
    // Posted: this may run inside a call into nats.c.
    net::post(a.ioc, [self = a.shared_from_this()] {
      if (self->client != nullptr) self->client->on_closed();
    });
  });
}
void on_disconnected(natsConnection* nc, void* closure) { on_connection_state(nc, closure, false); }

}  // extern "C"

// nats.c may still call back after a connection is destroyed (its callback
// thread runs on its own); the adapters it may name stay allocated, and
// reachable, for the life of the process. One per backbone connection.
void keep_for_late_callbacks(std::shared_ptr<Adapter> adapter) {
  static std::mutex mutex;
  static std::vector<std::shared_ptr<Adapter>> kept;
  std::lock_guard lock(mutex);
  kept.push_back(std::move(adapter));
}

void check(natsStatus status, const char* what) {
  if (status != NATS_OK)
    throw std::runtime_error(std::string("backbone: ") + what + ": " + natsStatus_GetText(status) + " (" +
                             nats_GetLastError(nullptr) + ")");
}

int to_ms(double seconds) { return static_cast<int>(std::max(1.0, seconds * 1000)); }

// A server that stops answering pings is left after kPingInterval x
// kMaxPingsOut.
constexpr double kPingIntervalSeconds = 2;
constexpr int kMaxPingsOut = 2;

}  // namespace

struct NatsClient::Subscription {
  SubscriptionId id = 0;
  std::string subject;
  natsSubscription* sub = nullptr;  // null while no connection has it
  MessageHandler handler;
  bool removed = false;
};

NatsClient::NatsClient(net::io_context& ioc, config::NatsConfig config, spdlog::logger& log)
    : ioc_(ioc), config_(std::move(config)), log_(log), adapter_(std::make_shared<Adapter>(ioc)), restart_timer_(ioc) {
  adapter_->client = this;
}

NatsClient::~NatsClient() { stop(); }

void NatsClient::start() {
  if (nc_ != nullptr) return;
  connect();
}

void NatsClient::connect() {
  natsOptions* opts = nullptr;
  check(natsOptions_Create(&opts), "options");
  std::unique_ptr<natsOptions, void (*)(natsOptions*)> owned(opts, natsOptions_Destroy);
  std::vector<const char*> urls;
  for (const auto& url : config_.urls) urls.push_back(url.c_str());
  check(natsOptions_SetServers(opts, urls.data(), static_cast<int>(urls.size())), "servers");
  check(natsOptions_SetNoRandomize(opts, true), "server order");
  if (!config_.name.empty()) check(natsOptions_SetName(opts, config_.name.c_str()), "name");
  check(natsOptions_SetTimeout(opts, to_ms(config_.connect_timeout_seconds)), "connect timeout");
  check(natsOptions_SetMaxReconnect(opts, -1), "reconnects");
  check(natsOptions_SetReconnectWait(opts, to_ms(config_.reconnect_wait_seconds)), "reconnect wait");
  check(natsOptions_SetPingInterval(opts, to_ms(kPingIntervalSeconds)), "ping interval");
  check(natsOptions_SetMaxPingsOut(opts, kMaxPingsOut), "pings out");
  check(natsOptions_SetReconnectBufSize(opts,
                                        static_cast<int>(std::min<std::size_t>(config_.max_buffered_bytes, 1 << 30))),
        "reconnect buffer");
  check(natsOptions_SetRetryOnFailedConnect(opts, true, on_connected, adapter_.get()), "retry");
  check(natsOptions_SetDisconnectedCB(opts, on_disconnected, adapter_.get()), "disconnected callback");
  check(natsOptions_SetReconnectedCB(opts, on_connected, adapter_.get()), "reconnected callback");
  check(natsOptions_SetClosedCB(opts, on_connection_closed, adapter_.get()), "closed callback");
  check(natsOptions_SetEventLoop(opts, adapter_.get(), on_attach, on_read, on_write, on_detach), "event loop");
  if (const auto& tls = config_.tls; tls.enabled) {
    // nats.c checks the host name only when told which: always told here.
    check(natsOptions_SetSecure(opts, true), "tls");
    check(natsOptions_SetExpectedHostname(opts, tls.server_name.c_str()), "tls server name");
    if (!tls.ca_file.empty()) check(natsOptions_LoadCATrustedCertificates(opts, tls.ca_file.c_str()), "tls ca_file");
    if (!tls.cert_file.empty())
      check(natsOptions_LoadCertificatesChain(opts, tls.cert_file.c_str(), tls.key_file.c_str()),
            "tls cert_file and key_file");
  }
  if (!config_.user.empty())
    check(natsOptions_SetUserInfo(opts, config_.user.c_str(), config_.password.c_str()), "user and password");
  if (!config_.token.empty()) check(natsOptions_SetToken(opts, config_.token.c_str()), "token");
  // nats.c reads the seed (and the JWT) from these files and signs the
  // server's nonce with it; the seed is not kept in the options.
  if (!config_.nkey.empty())
    check(natsOptions_SetNKeyFromSeed(opts, config_.nkey.c_str(), config_.nkey_seed_file.c_str()), "nkey");
  if (!config_.credentials_file.empty())
    check(natsOptions_SetUserCredentialsFromFiles(opts, config_.credentials_file.c_str(), nullptr), "credentials_file");
  check(natsOptions_SetErrorHandler(opts, on_async_error, adapter_.get()), "error handler");

  natsConnection* nc = nullptr;
  const auto status = natsConnection_Connect(&nc, opts);
  if (status != NATS_OK && status != NATS_NOT_YET_CONNECTED) check(status, "connect");
  nc_ = nc;
  adapter_->nc = nc;
  // Attached already when connected: the attach ran on this thread.
  if (status == NATS_OK) set_connected(true);
  for (auto& sub : subscriptions_) {
    if (!sub->removed) open(*sub);
  }
  if (status == NATS_OK) {
    log_.info("backbone connected urls={} name={} tls={}", fmt::join(config_.urls, ","), config_.name,
              config_.tls.enabled);
  } else {
    // Why the first attempt failed (refused, TLS, authorization): nats.c
    // keeps trying in the background.
    const char* text = nullptr;
    const auto last = natsConnection_GetLastError(nc, &text);
    std::string reason = natsStatus_GetText(last);
    if (text != nullptr && *text != '\0') reason += std::string(": ") + text;
    // nats.c keeps no reason for a failed TLS handshake; the server logs it.
    if (last == NATS_OK) reason = "none given (a failed TLS handshake is named in the server's log)";
    log_.warn("backbone connecting in the background urls={} name={} tls={} error=\"{}\"", fmt::join(config_.urls, ","),
              config_.name, config_.tls.enabled, reason);
  }
}

void NatsClient::stop() {
  if (nc_ == nullptr) return;
  {
    std::lock_guard lock(adapter_->mutex);
    adapter_->alive = false;
  }
  restart_timer_.cancel();
  close_connection();
  subscriptions_.clear();
  adapter_->client = nullptr;
  keep_for_late_callbacks(adapter_);
  connected_ = false;
}

void NatsClient::close_connection() {
  auto* nc = static_cast<natsConnection*>(nc_);
  for (auto& s : subscriptions_) {
    if (s->sub != nullptr) natsSubscription_Destroy(s->sub);
    s->sub = nullptr;
  }
  natsConnection_Close(nc);
  natsConnection_Destroy(nc);
  nc_ = nullptr;
  adapter_->nc = nullptr;
  adapter_->detach();
}

void NatsClient::on_closed() {
  auto* nc = static_cast<natsConnection*>(nc_);
  if (nc == nullptr || natsConnection_Status(nc) != NATS_CONN_STATUS_CLOSED) return;  // stopped, or an old one
  const char* text = nullptr;
  auto status = natsConnection_GetLastError(nc, &text);
  // After a refused first attempt nats.c is left with "no server": the
  // attempt's own line said why.
  if (status == NATS_NO_SERVER) {
    status = NATS_OK;
    text = nullptr;
  }
  set_connected(false);
  // Doubling from reconnect_wait (at least 1 s) up to 30 s, so that a
  // refused password does not hammer the servers, and a fixed one is
  // picked up.
  const double base = std::max(1.0, config_.reconnect_wait_seconds);
  const double delay = std::min(30.0, base * static_cast<double>(1u << std::min(closed_in_a_row_, 5u)));
  ++closed_in_a_row_;
  if (status == NATS_OK) {
    log_.warn("backbone connection given up retry_in={}s", delay);
  } else {
    log_.warn("backbone connection given up error=\"{}{}{}\" retry_in={}s", natsStatus_GetText(status),
              text != nullptr && *text != '\0' ? ": " : "", text != nullptr ? text : "", delay);
  }
  restart_timer_.expires_after(wire::to_duration(delay));
  restart_timer_.async_wait([this](error_code ec) {
    if (ec || nc_ == nullptr) return;
    close_connection();
    try {
      connect();
    } catch (const std::exception& e) {
      log_.warn("backbone could not start a new connection error=\"{}\"", e.what());
    }
  });
}

void NatsClient::set_connected(bool connected) {
  if (connected) closed_in_a_row_ = 0;
  if (connected == connected_) return;
  if (connected && ever_connected_) ++reconnects_;
  ever_connected_ = ever_connected_ || connected;
  connected_ = connected;
  log_.info("backbone {} url={}", connected ? "connected" : "disconnected", connected_url());
  if (on_state_) on_state_(connected);
}

std::string NatsClient::connected_url() const {
  if (nc_ == nullptr) return {};
  char url[512] = {};
  if (natsConnection_GetConnectedUrl(static_cast<natsConnection*>(nc_), url, sizeof url) != NATS_OK) return {};
  return url;
}

bool NatsClient::publish(const std::string& subject, const std::string& reply, std::string_view data) {
  auto* nc = static_cast<natsConnection*>(nc_);
  if (nc == nullptr) return false;
  const auto buffered = natsConnection_Buffered(nc);
  if (buffered < 0 || static_cast<std::size_t>(buffered) > config_.max_buffered_bytes) return false;
  const auto status = reply.empty()
                          ? natsConnection_Publish(nc, subject.c_str(), data.data(), static_cast<int>(data.size()))
                          : natsConnection_PublishRequest(nc, subject.c_str(), reply.c_str(), data.data(),
                                                          static_cast<int>(data.size()));
  return status == NATS_OK;
}

void NatsClient::open(Subscription& s) {
  auto* nc = static_cast<natsConnection*>(nc_);
  // A connection nats.c gave up already: the next one subscribes it.
  if (nc == nullptr || natsConnection_IsClosed(nc)) return;
  if (natsConnection_SubscribeSync(&s.sub, nc, s.subject.c_str()) != NATS_OK) {
    s.sub = nullptr;
    log_.warn("backbone could not subscribe subject={} error=\"{}\"", s.subject, nats_GetLastError(nullptr));
    return;
  }
  // The loop drains every read at once; the limit only bounds what one
  // read can leave pending.
  natsSubscription_SetPendingLimits(s.sub, 1 << 20, 256 << 20);
}

NatsClient::SubscriptionId NatsClient::subscribe(const std::string& subject, MessageHandler handler) {
  if (nc_ == nullptr) return 0;
  auto s = std::make_unique<Subscription>();
  s->id = next_id_++;
  s->subject = subject;
  s->handler = std::move(handler);
  // Kept even when the connection refuses it now: the next connection
  // subscribes it.
  open(*s);
  const auto id = s->id;
  subscriptions_.push_back(std::move(s));
  return id;
}

void NatsClient::unsubscribe(SubscriptionId id) {
  const auto it = std::find_if(subscriptions_.begin(), subscriptions_.end(),
                               [id](const std::unique_ptr<Subscription>& s) { return s->id == id; });
  if (it == subscriptions_.end() || (*it)->removed) return;
  if ((*it)->sub != nullptr) {
    natsSubscription_Unsubscribe((*it)->sub);
    natsSubscription_Destroy((*it)->sub);
    (*it)->sub = nullptr;
  }
  if (draining_) {
    // drain() walks the list; it removes the entry when it gets there.
    (*it)->removed = true;
    (*it)->handler = nullptr;
    return;
  }
  subscriptions_.erase(it);
}

std::size_t NatsClient::subscription_count() const {
  return static_cast<std::size_t>(std::count_if(subscriptions_.begin(), subscriptions_.end(),
                                                [](const std::unique_ptr<Subscription>& s) { return !s->removed; }));
}

std::string NatsClient::new_inbox() const {
  natsInbox* inbox = nullptr;
  if (natsInbox_Create(&inbox) != NATS_OK) return "_INBOX.tickrelay";
  std::string name(inbox);
  natsInbox_Destroy(inbox);
  return name;
}

void NatsClient::drain() {
  draining_ = true;
  // Handlers may subscribe (appended: reached in this walk) or unsubscribe
  // (emptied here, removed after the walk).
  for (std::size_t i = 0; i < subscriptions_.size(); ++i) {
    natsMsg* msg = nullptr;
    while (subscriptions_[i]->sub != nullptr && natsSubscription_NextMsg(&msg, subscriptions_[i]->sub, 0) == NATS_OK) {
      const char* reply = natsMsg_GetReply(msg);
      subscriptions_[i]->handler(natsMsg_GetSubject(msg), reply == nullptr ? std::string_view{} : reply,
                                 natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
      natsMsg_Destroy(msg);
    }
  }
  draining_ = false;
  std::erase_if(subscriptions_, [](const std::unique_ptr<Subscription>& s) { return s->removed; });
}

}  // namespace tickrelay::backbone
