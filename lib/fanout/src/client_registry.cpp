#include "tickrelay/fanout/client_registry.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include "tickrelay/fanout/client_session_base.hpp"
#include "tickrelay/wire/duration.hpp"

namespace tickrelay::fanout {

ClientRegistry::Admission& ClientRegistry::Admission::operator=(Admission&& other) noexcept {
  if (this != &other) {
    release();
    registry_ = std::exchange(other.registry_, nullptr);
    address_ = other.address_;
  }
  return *this;
}

void ClientRegistry::Admission::release() {
  if (registry_ == nullptr) return;
  auto it = registry_->per_address_.find(address_);
  if (it != registry_->per_address_.end() && --it->second == 0) registry_->per_address_.erase(it);
  --registry_->admitted_;
  registry_ = nullptr;
}

template <class Act>
void ClientRegistry::for_each_session(Act act) {
  std::vector<std::shared_ptr<ClientSessionBase>> all;
  all.reserve(sessions_.size());
  for (auto* s : sessions_) all.push_back(s->shared_from_this());
  for (auto& s : all) act(*s);
}

ClientRegistry::ClientRegistry(net::io_context& ioc, const ServerConfig& config, fanout::Router& router,
                               StreamCatalog& catalog, fanout::RelayCounters& counters, spdlog::logger& log)
    : ioc_(ioc),
      config_(config),
      router_(router),
      catalog_(catalog),
      counters_(counters),
      log_(log),
      max_client_lag_(wire::to_duration(config.max_client_lag_seconds)),
      close_timer_(ioc),
      idle_timer_(ioc) {
  router_.set_batch_listener([this] { flush_dirty(); });
}

ClientRegistry::~ClientRegistry() { router_.set_batch_listener({}); }

void ClientRegistry::apply(const ServerConfig& config) {
  config_ = config;
  max_client_lag_ = wire::to_duration(config.max_client_lag_seconds);
}

std::optional<ClientRegistry::Admission> ClientRegistry::admit(const net::ip::address& address,
                                                               fanout::RefusalReason& refusal) {
  if (admitted_ >= config_.max_clients) {
    refusal = fanout::RefusalReason::max_clients;
    return std::nullopt;
  }
  auto& count = per_address_[address];
  if (config_.max_clients_per_ip != 0 && count >= config_.max_clients_per_ip) {
    refusal = fanout::RefusalReason::max_clients_per_ip;
    return std::nullopt;
  }
  ++count;
  ++admitted_;
  return Admission(this, address);
}

void ClientRegistry::add(ClientSessionBase* session) {
  sessions_.insert(session);
  if (!idle_sweeping_ && !closing_) sweep_idle();
}

namespace {

// Each client is looked at this often as a share of idle_ping: pinged
// within a quarter of idle_ping after the mark, dropped likewise.
constexpr double kSweepsPerIdlePing = 4;

}  // namespace

void ClientRegistry::sweep_idle() {
  if (sessions_.empty() || closing_) {
    idle_sweeping_ = false;
    return;
  }
  idle_sweeping_ = true;
  const auto idle = wire::to_duration(config_.idle_ping_seconds);
  const auto now = Clock::now();
  for_each_session([&](ClientSessionBase& s) { s.check_idle(now, idle); });
  idle_timer_.expires_after(wire::to_duration(config_.idle_ping_seconds / kSweepsPerIdlePing));
  idle_timer_.async_wait([this](error_code ec) {
    if (!ec) sweep_idle();
  });
}

void ClientRegistry::mark_dirty(std::shared_ptr<ClientSessionBase> session) {
  dirty_.push_back(std::move(session));
  // Inside a publish batch its end flushes; outside one (a control reply, a
  // replay, the simulator's tick) the next turn of the loop does.
  if (!router_.in_batch()) post_flush();
}

void ClientRegistry::post_flush() {
  if (flush_posted_) return;
  flush_posted_ = true;
  net::post(ioc_, [this] {
    flush_posted_ = false;
    // A batch that opened since will flush when it ends, with its frames.
    if (!router_.in_batch()) flush_dirty();
  });
}

void ClientRegistry::flush_dirty() {
  // Swap first: a flush may mark sessions dirty again for the next round.
  flushing_.swap(dirty_);
  for (auto& session : flushing_) session->flush();
  flushing_.clear();
  // Marked while flushing (a session's close frame): written next turn.
  if (!dirty_.empty()) post_flush();
}

namespace {

// A saturated relay may shed many clients a second; one line per interval.
constexpr auto kShedLogInterval = std::chrono::seconds(10);

}  // namespace

void ClientRegistry::note_shed(fanout::DisconnectReason why) {
  ++shed_since_log_[why == fanout::DisconnectReason::lagging ? 1 : 0];
  const auto now = Clock::now();
  if (now - shed_logged_at_ < kShedLogInterval) return;
  log_.warn(
      "shedding slow clients: closed lagging={} (oldest queued frame older than max_client_lag={}s) "
      "over_queue_bytes={} (client_queue_bytes={}) since the last report; clients={}",
      shed_since_log_[1], config_.max_client_lag_seconds, shed_since_log_[0], config_.client_queue_bytes,
      sessions_.size());
  shed_since_log_ = {};
  shed_logged_at_ = now;
}

void ClientRegistry::shutdown_all() {
  for_each_session([](ClientSessionBase& s) { s.shutdown(); });
}

void ClientRegistry::abort_all() {
  for_each_session([](ClientSessionBase& s) { s.abort(); });
}

void ClientRegistry::close_all(std::chrono::steady_clock::duration drain, std::chrono::steady_clock::duration give_up,
                               std::function<void(std::size_t left)> done) {
  // Shutdown's own deadlines rule from here; no timer of ours outlives them.
  closing_ = true;
  idle_timer_.cancel();
  shutdown_all();
  drain_deadline_ = std::chrono::steady_clock::now() + drain;
  give_up_at_ = drain_deadline_ + give_up;
  drain_over_ = false;
  wait_for_sessions(std::move(done));
}

void ClientRegistry::wait_for_sessions(std::function<void(std::size_t left)> done) {
  const auto now = std::chrono::steady_clock::now();
  if (admitted_ == 0 || now >= give_up_at_) return done(admitted_);
  if (now >= drain_deadline_) {
    if (!drain_over_) log_.warn("shutdown drain time over clients_left={}", sessions_.size());
    drain_over_ = true;
    // Clients that did not finish their close in time are dropped (and any
    // that finished a handshake since).
    abort_all();
  }
  close_timer_.expires_after(std::chrono::milliseconds(20));
  close_timer_.async_wait([this, done = std::move(done)](error_code ec) mutable {
    if (!ec) wait_for_sessions(std::move(done));
  });
}

std::string ClientRegistry::clients_json(std::size_t limit) const {
  const auto now = Clock::now();
  std::vector<ClientInfo> all(sessions_.size());
  std::size_t i = 0;
  for (const auto* session : sessions_) session->describe(all[i++], now);
  const auto listed = std::min(limit, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(listed), all.end(),
                    [](const ClientInfo& a, const ClientInfo& b) {
                      if (a.oldest_queued_seconds != b.oldest_queued_seconds)
                        return a.oldest_queued_seconds > b.oldest_queued_seconds;
                      return a.queued_bytes > b.queued_bytes;
                    });
  boost::json::array list;
  list.reserve(listed);
  for (std::size_t k = 0; k < listed; ++k) {
    const auto& c = all[k];
    boost::json::array streams;
    for (std::size_t s = 0; s < std::min(c.streams.size(), kListedStreams); ++s) {
      streams.emplace_back(boost::json::string_view(c.streams[s].data(), c.streams[s].size()));
    }
    list.push_back(boost::json::object{
        {"peer", boost::json::string_view(c.peer.data(), c.peer.size())},
        {"tls", c.tls},
        {"open", c.open},
        {"stream_count", c.streams.size()},
        {"streams", std::move(streams)},
        {"queued_bytes", c.queued_bytes},
        {"oldest_queued_seconds", c.oldest_queued_seconds},
        {"messages_sent", c.messages_sent},
        {"connected_at_ms",
         std::chrono::duration_cast<std::chrono::milliseconds>(c.connected_at.time_since_epoch()).count()},
    });
  }
  return boost::json::serialize(
             boost::json::object{{"connected", sessions_.size()}, {"listed", listed}, {"clients", std::move(list)}}) +
         "\n";
}

void ClientRegistry::retire_stream(fanout::StreamId id) {
  for_each_session([id](ClientSessionBase& s) { s.stream_retired(id); });
}

}  // namespace tickrelay::fanout
