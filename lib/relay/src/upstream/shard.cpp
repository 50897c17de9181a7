#include "upstream/shard.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "tickrelay/relay/shard_plan.hpp"
#include "tickrelay/wire/duration.hpp"
#include "upstream/connection_factory.hpp"
#include "upstream/ingest.hpp"
#include "upstream/rate_window.hpp"
#include "upstream/upstream_link.hpp"

namespace tickrelay::upstream {
namespace {

// SUBSCRIBE carries at most this many streams per message: long enough to
// subscribe a whole 1024-stream shard in a few messages.
constexpr std::size_t kStreamsPerSubscribe = 200;

// How often a rotation's old connection is asked whether the new one has
// caught up, and for how long at most: streams with no event meanwhile
// have nothing to lose.
constexpr auto kDrainPoll = std::chrono::milliseconds(20);
constexpr std::size_t kMaxDrainPolls = 500;  // 10 s

}  // namespace

Shard::Shard(net::io_context& ioc, ConnectionFactory& factory, Ingest& ingest, const UpstreamLink& link,
             RateWindow& opens, ReconnectCounts& reconnects, Backoff backoff, spdlog::logger& log, std::size_t index,
             std::string path, std::vector<std::string> streams, std::function<void()> on_idle)
    : factory_(factory),
      ingest_(ingest),
      link_(link),
      opens_(opens),
      reconnects_(reconnects),
      backoff_(std::move(backoff)),
      log_(log),
      index_(index),
      path_(std::move(path)),
      streams_(std::move(streams)),
      on_idle_(std::move(on_idle)),
      reconnect_timer_(ioc),
      rotation_timer_(ioc),
      open_timer_(ioc),
      drain_timer_(ioc) {}

Shard::~Shard() = default;

bool Shard::connected() const { return active_ && active_->is_open(); }

void Shard::start() { open(false); }

void Shard::stop() {
  if (stopped_) return;
  stopped_ = true;
  reconnect_timer_.cancel();
  rotation_timer_.cancel();
  open_timer_.cancel();
  drain_timer_.cancel();
  pending_open_ = false;
  // Copies: close() may reach on_end at once, which resets the members.
  for (auto conn : {active_, replacement_, draining_}) {
    if (conn) conn->close(EndReason::stopped);
  }
  if (idle() && on_idle_) on_idle_();
}

void Shard::open(bool replacement) {
  if (stopped_) return;
  const auto now = RateWindow::Clock::now();
  const auto allowed = opens_.next_allowed(now);
  if (allowed > now) {
    // Binance bans IPs that open connections too fast: wait for the window.
    if (!pending_open_) {
      pending_open_ = true;
      log_.info("upstream connection deferred by the connection-rate limit upstream={} shard={} wait={}ms", link_.name,
                index_, std::chrono::duration_cast<std::chrono::milliseconds>(allowed - now).count());
    }
    open_timer_.expires_at(allowed);
    open_timer_.async_wait([weak = weak_from_this()](error_code ec) {
      if (ec) return;
      const auto self = weak.lock();
      if (!self || self->stopped_) return;
      self->pending_open_ = false;
      // Whatever was asked meanwhile: a replacement if a connection is open.
      self->open(self->connected());
    });
    return;
  }
  opens_.record(now);
  std::vector<std::string> overflow;
  ConnectionSpec spec{ConnectionTarget{link_.host, link_.port, link_.tls, link_.verify,
                                       combined_target(path_, streams_, link_.microsecond_time, kUrlStreamBudget,
                                                       overflow)},
                      link_.timeouts, link_.tls_context.get(), link_.name};
  auto conn = factory_.make(std::move(spec), static_cast<Connection::Observer&>(*this));
  for (std::size_t i = 0; i < overflow.size(); i += kStreamsPerSubscribe) {
    const auto last = std::min(overflow.size(), i + kStreamsPerSubscribe);
    conn->send_text(
        request("SUBSCRIBE", std::vector<std::string>(overflow.begin() + static_cast<std::ptrdiff_t>(i),
                                                      overflow.begin() + static_cast<std::ptrdiff_t>(last))));
  }
  (replacement ? replacement_ : active_) = conn;
  conn->start();
}

std::string Shard::request(const char* method, const std::vector<std::string>& streams) {
  boost::json::array params;
  for (const auto& s : streams) params.emplace_back(s);
  return boost::json::serialize(
      boost::json::object{{"method", method}, {"params", std::move(params)}, {"id", next_request_id_++}});
}

void Shard::send_to_open(const std::string& text) {
  for (const auto& conn : {active_, replacement_}) {
    if (conn && !conn->ended()) conn->send_text(text);
  }
}

void Shard::add_streams(const std::vector<std::string>& names) {
  streams_.insert(streams_.end(), names.begin(), names.end());
  for (std::size_t i = 0; i < names.size(); i += kStreamsPerSubscribe) {
    const auto last = std::min(names.size(), i + kStreamsPerSubscribe);
    send_to_open(request("SUBSCRIBE", std::vector<std::string>(names.begin() + static_cast<std::ptrdiff_t>(i),
                                                               names.begin() + static_cast<std::ptrdiff_t>(last))));
  }
}

std::vector<std::string> Shard::keep_only(const std::set<std::string>& wanted) {
  std::vector<std::string> removed;
  std::erase_if(streams_, [&](const std::string& s) {
    if (wanted.contains(s)) return false;
    removed.push_back(s);
    return true;
  });
  if (!removed.empty()) send_to_open(request("UNSUBSCRIBE", removed));
  return removed;
}

void Shard::count(EndReason reason) { ++reconnects_[static_cast<std::size_t>(reason)]; }

void Shard::on_open(Connection& connection) {
  if (active_.get() == &connection) schedule_rotation();
}

void Shard::schedule_rotation() {
  rotation_timer_.expires_after(wire::to_duration(link_.max_connection_age_seconds));
  rotation_timer_.async_wait([weak = weak_from_this()](error_code ec) {
    if (ec) return;
    const auto self = weak.lock();
    if (self && !self->stopped_) self->begin_rotation(EndReason::rotation);
  });
}

void Shard::begin_rotation(EndReason reason) {
  if (replacement_) return;  // one already under way
  count(reason);
  log_.info("upstream rotating upstream={} shard={} reason={}", link_.name, index_, end_reason_label(reason));
  open(true);
}

void Shard::promote_replacement() {
  auto old = std::move(active_);
  active_ = std::move(replacement_);
  replacement_.reset();
  backoff_.reset();
  if (active_->is_open()) schedule_rotation();
  if (!old) return;
  if (draining_) draining_->close(EndReason::rotation);
  // The old connection may still hold events the new one began after.
  draining_ = std::move(old);
  watch_drain(kMaxDrainPolls);
}

void Shard::watch_drain(std::size_t polls_left) {
  drain_timer_.expires_after(kDrainPoll);
  drain_timer_.async_wait([weak = weak_from_this(), polls_left](error_code ec) {
    if (ec) return;
    const auto self = weak.lock();
    if (!self || self->stopped_ || !self->draining_) return;
    const bool caught_up = self->active_ && self->ingest_.handed_over(self->draining_->id(), self->active_->id());
    if (!caught_up && polls_left > 1) return self->watch_drain(polls_left - 1);
    // A copy: close() may reach on_end at once, which resets the member.
    auto old = self->draining_;
    old->close(EndReason::rotation);
  });
}

void Shard::on_message(Connection& connection, const char* data, std::size_t size, std::size_t capacity,
                       Connection::Clock::time_point received) {
  if (stopped_) return;  // a closing connection of a stopped upstream
  using Type = relay::ParsedFrame::Type;
  switch (ingest_.process(connection.id(), data, size, capacity, received)) {
    case Type::server_shutdown:
      if (active_.get() == &connection) begin_rotation(EndReason::server_shutdown);
      return;
    case Type::event: break;
    case Type::response:
    case Type::malformed: return;
  }
  // The new connection of a rotation takes over at its first event.
  if (replacement_.get() == &connection) promote_replacement();
  if (active_.get() == &connection && connection.messages() == 1) backoff_.reset();
}

void Shard::on_binary(Connection&, std::size_t size) { ingest_.skip_malformed(size); }

void Shard::on_end(Connection& connection, EndReason reason, const error_code&) {
  ingest_.connection_closed(connection.id());
  if (draining_.get() == &connection) {
    draining_.reset();
    drain_timer_.cancel();
    if (stopped_ && idle() && on_idle_) on_idle_();
    return;
  }
  if (stopped_ || reason == EndReason::stopped) {
    if (active_.get() == &connection) active_.reset();
    if (replacement_.get() == &connection) replacement_.reset();
    if (stopped_ && idle() && on_idle_) on_idle_();
    return;
  }
  if (replacement_.get() == &connection) {
    // The new connection of a rotation failed: try again after a backoff.
    replacement_.reset();
    reconnect_timer_.expires_after(wire::to_duration(backoff_.next()));
    reconnect_timer_.async_wait([weak = weak_from_this()](error_code ec) {
      if (ec) return;
      const auto self = weak.lock();
      if (self && !self->stopped_ && !self->replacement_) self->open(self->active_ != nullptr);
    });
    return;
  }
  if (active_.get() != &connection) return;  // an old connection after its rotation
  active_.reset();
  rotation_timer_.cancel();
  if (replacement_) {
    // A rotation was under way: its new connection takes over now.
    count(reason);
    active_ = std::move(replacement_);
    replacement_.reset();
    if (active_->is_open()) schedule_rotation();
    return;
  }
  schedule_reconnect(reason);
}

void Shard::schedule_reconnect(EndReason reason) {
  count(reason);
  const double delay = backoff_.next();
  log_.info("upstream reconnecting upstream={} shard={} reason={} in={:.3f}s attempt={}", link_.name, index_,
            end_reason_label(reason), delay, backoff_.attempt());
  reconnect_timer_.expires_after(wire::to_duration(delay));
  reconnect_timer_.async_wait([weak = weak_from_this()](error_code ec) {
    if (ec) return;
    const auto self = weak.lock();
    if (self && !self->stopped_ && !self->active_) self->open(false);
  });
}

}  // namespace tickrelay::upstream
