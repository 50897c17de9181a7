#include "tickrelay/relay/nats_client.hpp"

#include <nats/nats.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>

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

void on_connected(natsConnection* nc, void* closure) { on_connection_state(nc, closure, true); }
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
  natsSubscription* sub = nullptr;
  MessageHandler handler;
};

NatsClient::NatsClient(net::io_context& ioc, config::NatsConfig config, spdlog::logger& log)
    : ioc_(ioc), config_(std::move(config)), log_(log), adapter_(std::make_shared<Adapter>(ioc)) {
  adapter_->client = this;
}

NatsClient::~NatsClient() { stop(); }

void NatsClient::start() {
  if (nc_ != nullptr) return;
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
  check(natsOptions_SetEventLoop(opts, adapter_.get(), on_attach, on_read, on_write, on_detach), "event loop");

  natsConnection* nc = nullptr;
  const auto status = natsConnection_Connect(&nc, opts);
  if (status != NATS_OK && status != NATS_NOT_YET_CONNECTED) check(status, "connect");
  nc_ = nc;
  adapter_->nc = nc;
  // Attached already when connected: the attach ran on this thread.
  if (status == NATS_OK) set_connected(true);
  log_.info("backbone {} urls={} name={}", status == NATS_OK ? "connected" : "connecting in the background",
            fmt::join(config_.urls, ","), config_.name);
}

void NatsClient::stop() {
  if (nc_ == nullptr) return;
  {
    std::lock_guard lock(adapter_->mutex);
    adapter_->alive = false;
  }
  auto* nc = static_cast<natsConnection*>(nc_);
  for (auto& s : subscriptions_) natsSubscription_Destroy(s->sub);
  subscriptions_.clear();
  natsConnection_Close(nc);
  natsConnection_Destroy(nc);
  nc_ = nullptr;
  adapter_->nc = nullptr;
  adapter_->client = nullptr;
  adapter_->detach();
  keep_for_late_callbacks(adapter_);
  connected_ = false;
}

void NatsClient::set_connected(bool connected) {
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

NatsClient::SubscriptionId NatsClient::subscribe(const std::string& subject, MessageHandler handler) {
  auto* nc = static_cast<natsConnection*>(nc_);
  if (nc == nullptr) return 0;
  natsSubscription* sub = nullptr;
  if (natsConnection_SubscribeSync(&sub, nc, subject.c_str()) != NATS_OK) {
    log_.warn("backbone could not subscribe subject={} error=\"{}\"", subject, nats_GetLastError(nullptr));
    return 0;
  }
  // The loop drains every read at once; the limit only bounds what one
  // read can leave pending.
  natsSubscription_SetPendingLimits(sub, 1 << 20, 256 << 20);
  auto s = std::make_unique<Subscription>();
  s->id = next_id_++;
  s->sub = sub;
  s->handler = std::move(handler);
  const auto id = s->id;
  subscriptions_.push_back(std::move(s));
  return id;
}

void NatsClient::unsubscribe(SubscriptionId id) {
  const auto it = std::find_if(subscriptions_.begin(), subscriptions_.end(),
                               [id](const std::unique_ptr<Subscription>& s) { return s->id == id; });
  if (it == subscriptions_.end()) return;
  natsSubscription_Unsubscribe((*it)->sub);
  natsSubscription_Destroy((*it)->sub);
  if (draining_) {
    // drain() walks the list; it removes the entry when it gets there.
    (*it)->sub = nullptr;
    (*it)->handler = nullptr;
    return;
  }
  subscriptions_.erase(it);
}

std::size_t NatsClient::subscription_count() const {
  return static_cast<std::size_t>(std::count_if(subscriptions_.begin(), subscriptions_.end(),
                                                [](const std::unique_ptr<Subscription>& s) { return s->sub; }));
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
  std::erase_if(subscriptions_, [](const std::unique_ptr<Subscription>& s) { return s->sub == nullptr; });
}

}  // namespace tickrelay::backbone
