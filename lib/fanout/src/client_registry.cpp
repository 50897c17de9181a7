#include "tickrelay/fanout/client_registry.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "tickrelay/fanout/client_session_base.hpp"

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

ClientRegistry::ClientRegistry(net::io_context& ioc, const ServerConfig& config, fanout::Router& router,
                               StreamCatalog& catalog, fanout::RelayCounters& counters, spdlog::logger& log)
    : ioc_(ioc),
      config_(config),
      router_(router),
      catalog_(catalog),
      counters_(counters),
      log_(log),
      close_timer_(ioc) {}

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

namespace {

// Each deferral costs one turn of the loop (microseconds); the cap bounds the
// delay a steady stream of publishes could add.
constexpr unsigned kMaxFlushDeferrals = 16;

}  // namespace

void ClientRegistry::mark_dirty(std::shared_ptr<ClientSessionBase> session) {
  dirty_.push_back(std::move(session));
  if (!flush_posted_) {
    flush_posted_ = true;
    deferrals_ = 0;
    published_at_post_ = router_.published();
    net::post(ioc_, [this] { flush_dirty(); });
  }
}

void ClientRegistry::flush_dirty() {
  // The upstream message read next may already be waiting behind this
  // handler: yield one turn, and keep yielding while turns bring new frames,
  // so messages read back to back join one write.
  if ((deferrals_ == 0 || router_.published() != published_at_post_) && deferrals_ < kMaxFlushDeferrals) {
    ++deferrals_;
    published_at_post_ = router_.published();
    net::post(ioc_, [this] { flush_dirty(); });
    return;
  }
  flush_posted_ = false;
  // Swap first: a flush may mark sessions dirty again for the next turn.
  flushing_.swap(dirty_);
  for (auto& session : flushing_) session->flush();
  flushing_.clear();
}

void ClientRegistry::shutdown_all() {
  // Collected first: shutdown() may end a session, which removes it.
  std::vector<std::shared_ptr<ClientSessionBase>> all;
  all.reserve(sessions_.size());
  for (auto* s : sessions_) all.push_back(s->shared_from_this());
  for (auto& s : all) s->shutdown();
}

void ClientRegistry::abort_all() {
  std::vector<std::shared_ptr<ClientSessionBase>> all;
  all.reserve(sessions_.size());
  for (auto* s : sessions_) all.push_back(s->shared_from_this());
  for (auto& s : all) s->abort();
}

void ClientRegistry::close_all(std::chrono::steady_clock::duration drain, std::chrono::steady_clock::duration give_up,
                               std::function<void(std::size_t left)> done) {
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

void ClientRegistry::retire_stream(fanout::StreamId id) {
  std::vector<std::shared_ptr<ClientSessionBase>> all;
  for (auto* s : sessions_) all.push_back(s->shared_from_this());
  for (auto& s : all) s->stream_retired(id);
}

}  // namespace tickrelay::fanout
