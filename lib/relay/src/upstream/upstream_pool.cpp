#include "upstream/upstream_pool.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>
#include <chrono>
#include <set>

#include "tickrelay/fanout/stream_name.hpp"
#include "tickrelay/wire/tls_context.hpp"
#include "upstream/dns_resolver.hpp"
#include "tickrelay/relay/shard_plan.hpp"
#include "upstream/stream_routing.hpp"

namespace tickrelay::upstream {
namespace {

using Clock = std::chrono::steady_clock;

Clock::duration seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

// SUBSCRIBE carries at most this many streams per message: long enough to
// subscribe a whole 1024-stream shard in a few messages.
constexpr std::size_t kStreamsPerSubscribe = 200;

}  // namespace

struct UpstreamPool::Shard {
  Upstream* upstream;
  std::size_t index;
  std::string path;
  std::vector<std::string> streams;
  std::shared_ptr<UpstreamConnection> active;
  std::shared_ptr<UpstreamConnection> replacement;
  Backoff backoff;
  net::steady_timer reconnect_timer;
  net::steady_timer rotation_timer;
  bool pending_open = false;

  Shard(Upstream* up, std::size_t i, std::string p, Backoff b, net::io_context& ioc)
      : upstream(up), index(i), path(std::move(p)), backoff(std::move(b)), reconnect_timer(ioc), rotation_timer(ioc) {}
};

struct UpstreamPool::Upstream {
  config::UpstreamConfig config;
  std::string host;
  unsigned short port = 0;
  bool tls = false;
  std::unique_ptr<ssl::context> tls_context;
  RateWindow opens;
  net::steady_timer open_timer;
  std::vector<Shard*> waiting;  // shards waiting for the connection-rate window
  std::vector<std::unique_ptr<Shard>> shards;
  std::array<std::uint64_t, kEndReasonCount> reconnects{};

  Upstream(config::UpstreamConfig c, net::io_context& ioc)
      : config(std::move(c)),
        opens(config.connection_rate_count, seconds(config.connection_rate_window_seconds)),
        open_timer(ioc) {}
};

UpstreamPool::UpstreamPool(net::io_context& ioc, DnsResolver& resolver, fanout::Router& router,
                           fanout::RelayCounters& counters, spdlog::logger& log, ReplayPolicy replay,
                           std::function<double()> uniform)
    : ioc_(ioc),
      resolver_(resolver),
      router_(router),
      counters_(counters),
      log_(log),
      replay_(std::move(replay)),
      uniform_(std::move(uniform)) {}

UpstreamPool::~UpstreamPool() { stop(); }

fanout::StreamId UpstreamPool::register_stream(const std::string& name) {
  const auto parsed = fanout::parse_stream_name(name);
  return router_.add_stream(name, parsed->kind, replay_(parsed->kind));
}

void UpstreamPool::start(const std::vector<config::UpstreamConfig>& upstreams) {
  stopped_ = false;
  for (const auto& config : upstreams) {
    auto up = std::make_unique<Upstream>(config, ioc_);
    upstreams_.push_back(std::move(up));
    start_upstream(*upstreams_.back());
  }
}

void UpstreamPool::start_upstream(Upstream& up) {
  const auto url = boost::urls::parse_uri(up.config.url);
  if (!url) throw std::runtime_error("upstream " + up.config.name + ": bad url " + up.config.url);
  up.host = std::string(url->host_address());
  up.tls = url->scheme() == "wss";
  up.port = url->has_port() ? url->port_number() : static_cast<unsigned short>(up.tls ? 443 : 80);
  if (up.tls) {
    up.tls_context = std::make_unique<ssl::context>(
        wire::make_client_tls_context(wire::TlsClientOptions{up.config.tls.verify, up.config.tls.ca_file}));
    if (!up.config.tls.verify) {
      log_.warn("upstream TLS verification is OFF upstream={}: certificates and host names are not checked",
                up.config.name);
    }
  }
  for (const auto& name : up.config.streams) register_stream(name);
  auto plan = plan_shards(up.config);
  for (auto& spec : plan) {
    auto shard = std::make_unique<Shard>(&up, up.shards.size(), spec.path,
                                         Backoff(up.config.reconnect_base_seconds, up.config.reconnect_cap_seconds,
                                                 uniform_),
                                         ioc_);
    shard->streams = std::move(spec.streams);
    up.shards.push_back(std::move(shard));
  }
  log_.info("upstream starting upstream={} product={} streams={} connections={}", up.config.name,
            config::product_name(up.config.product), up.config.streams.size(), up.shards.size());
  for (auto& shard : up.shards) open(*shard, false);
}

void UpstreamPool::stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& up : upstreams_) stop_upstream(*up);
}

void UpstreamPool::stop_upstream(Upstream& up) {
  up.open_timer.cancel();
  up.waiting.clear();
  for (auto& shard : up.shards) {
    shard->reconnect_timer.cancel();
    shard->rotation_timer.cancel();
    // Copies: close() reaches on_end, which edits the shard.
    for (auto conn : {shard->active, shard->replacement}) {
      if (conn) conn->close(EndReason::stopped);
    }
  }
}

void UpstreamPool::open(Shard& shard, bool replacement) {
  if (stopped_) return;
  Upstream& up = *shard.upstream;
  const auto now = Clock::now();
  const auto allowed = up.opens.next_allowed(now);
  if (allowed > now) {
    // Binance bans IPs that open connections too fast: wait for the window.
    if (!shard.pending_open) {
      shard.pending_open = true;
      up.waiting.push_back(&shard);
      log_.info("upstream connection deferred by the connection-rate limit upstream={} shard={} wait={}ms",
                up.config.name, shard.index,
                std::chrono::duration_cast<std::chrono::milliseconds>(allowed - now).count());
    }
    up.open_timer.expires_at(allowed);
    up.open_timer.async_wait([this, &up](error_code ec) {
      if (ec || stopped_) return;
      auto waiting = std::move(up.waiting);
      up.waiting.clear();
      for (Shard* s : waiting) {
        s->pending_open = false;
        open(*s, s->active != nullptr && s->active->is_open());
      }
    });
    return;
  }
  up.opens.record(now);
  std::vector<std::string> overflow;
  ConnectionTarget target{up.host, up.port, up.tls, up.config.tls.verify,
                          combined_target(shard.path, shard.streams, up.config.microsecond_time, kUrlStreamBudget,
                                          overflow)};
  ConnectionTimeouts timeouts{up.config.connect_timeout_seconds, up.config.stall_timeout_seconds,
                              up.config.max_message_bytes,
                              std::max(1.0, up.config.message_rate_per_second - 1)};
  const auto id = next_connection_id_++;
  auto conn = std::make_shared<UpstreamConnection>(ioc_, resolver_, up.tls_context.get(), std::move(target), timeouts,
                                                   static_cast<UpstreamConnection::Observer&>(*this), log_, id,
                                                   up.config.name);
  by_connection_[id] = &shard;
  for (std::size_t i = 0; i < overflow.size(); i += kStreamsPerSubscribe) {
    boost::json::object request;
    boost::json::array params;
    for (std::size_t j = i; j < std::min(overflow.size(), i + kStreamsPerSubscribe); ++j) params.emplace_back(overflow[j]);
    request["method"] = "SUBSCRIBE";
    request["params"] = std::move(params);
    request["id"] = next_request_id_++;
    conn->send_text(boost::json::serialize(request));
  }
  (replacement ? shard.replacement : shard.active) = conn;
  conn->start();
}

void UpstreamPool::on_open(UpstreamConnection& connection) {
  const auto it = by_connection_.find(connection.id());
  if (it == by_connection_.end()) return;
  Shard& shard = *it->second;
  if (shard.active.get() == &connection) schedule_rotation(shard);
}

void UpstreamPool::schedule_rotation(Shard& shard) {
  shard.rotation_timer.expires_after(seconds(shard.upstream->config.max_connection_age_seconds));
  shard.rotation_timer.async_wait([this, &shard](error_code ec) {
    if (ec || stopped_) return;
    begin_rotation(shard, EndReason::rotation);
  });
}

void UpstreamPool::begin_rotation(Shard& shard, EndReason reason) {
  if (shard.replacement) return;  // one already under way
  ++shard.upstream->reconnects[static_cast<std::size_t>(reason)];
  log_.info("upstream rotating upstream={} shard={} reason={}", shard.upstream->config.name, shard.index,
            end_reason_label(reason));
  open(shard, true);
}

void UpstreamPool::promote_replacement(Shard& shard) {
  auto old = std::move(shard.active);
  shard.active = std::move(shard.replacement);
  shard.replacement.reset();
  shard.backoff.reset();
  if (shard.active->is_open()) schedule_rotation(shard);
  if (old) old->close(EndReason::rotation);
}

void UpstreamPool::on_message(UpstreamConnection& connection, const char* data, std::size_t size,
                              std::size_t capacity, UpstreamConnection::Clock::time_point received) {
  const auto it = by_connection_.find(connection.id());
  if (it == by_connection_.end()) return;
  Shard& shard = *it->second;
  ++counters_.upstream_messages;
  counters_.upstream_bytes += size;

  const auto parsed = parser_.parse(data, size, capacity);
  using Type = relay::ParsedFrame::Type;
  switch (parsed.type) {
    case Type::malformed:
      ++counters_.upstream_malformed;
      return;
    case Type::response:
      return;
    case Type::server_shutdown:
      if (shard.active.get() == &connection) begin_rotation(shard, EndReason::server_shutdown);
      return;
    case Type::event:
      break;
  }
  // The new connection of a rotation takes over at its first event.
  if (shard.replacement.get() == &connection) promote_replacement(shard);
  if (shard.active.get() == &connection && connection.messages() == 1) shard.backoff.reset();

  const auto stream = router_.find(parsed.stream);
  if (stream == fanout::kNoStream || !router_.carried(stream)) {
    ++counters_.upstream_unknown_stream;
    return;
  }
  const auto kind = router_.kind(stream);
  std::int64_t gap_id = -1;
  switch (fanout::sequence_field(kind)) {
    case fanout::SequenceField::trade_id: gap_id = parsed.trade_id; break;
    case fanout::SequenceField::agg_trade_id: gap_id = parsed.agg_id; break;
    case fanout::SequenceField::none: break;
  }
  const std::int64_t sequence =
      parsed.trade_id >= 0 ? parsed.trade_id : parsed.agg_id >= 0 ? parsed.agg_id : parsed.update_id;
  auto& gaps = counters_.upstream_gaps[static_cast<std::size_t>(kind)];
  if (sequencer_.observe(stream, connection.id(), EventKey{parsed.event_time, sequence}, gap_id, gaps) ==
      StreamSequencer::Verdict::duplicate) {
    ++counters_.upstream_duplicates;
    return;
  }
  std::int64_t event_us = 0;
  if (parsed.event_time > 0) {
    event_us = relay::event_time_to_us(parsed.event_time);
    const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    counters_.upstream_event_lag.observe(static_cast<double>(std::max<std::int64_t>(0, now_us - event_us)) / 1e6);
  }
  router_.publish(fanout::Frame::from_envelope(std::string_view(data, size), parsed.data_offset, parsed.data_size,
                                              stream, event_us, received));
}

void UpstreamPool::on_end(UpstreamConnection& connection, EndReason reason, const error_code&) {
  sequencer_.connection_closed(connection.id());
  const auto it = by_connection_.find(connection.id());
  if (it == by_connection_.end()) return;
  Shard& shard = *it->second;
  by_connection_.erase(it);
  if (stopped_ || reason == EndReason::stopped) {
    if (shard.active.get() == &connection) shard.active.reset();
    if (shard.replacement.get() == &connection) shard.replacement.reset();
    return;
  }
  if (shard.replacement.get() == &connection) {
    // The new connection of a rotation failed: try again after a backoff.
    shard.replacement.reset();
    const double delay = shard.backoff.next();
    shard.reconnect_timer.expires_after(seconds(delay));
    shard.reconnect_timer.async_wait([this, &shard](error_code ec) {
      if (!ec && !stopped_ && !shard.replacement) open(shard, shard.active != nullptr);
    });
    return;
  }
  if (shard.active.get() != &connection) return;  // an old connection after its rotation
  shard.active.reset();
  shard.rotation_timer.cancel();
  if (shard.replacement) {
    // A rotation was under way: its new connection takes over now.
    ++shard.upstream->reconnects[static_cast<std::size_t>(reason)];
    shard.active = std::move(shard.replacement);
    shard.replacement.reset();
    if (shard.active->is_open()) schedule_rotation(shard);
    return;
  }
  schedule_reconnect(shard, reason);
}

void UpstreamPool::schedule_reconnect(Shard& shard, EndReason reason) {
  ++shard.upstream->reconnects[static_cast<std::size_t>(reason)];
  const double delay = shard.backoff.next();
  log_.info("upstream reconnecting upstream={} shard={} reason={} in={:.3f}s attempt={}",
            shard.upstream->config.name, shard.index, end_reason_label(reason), delay, shard.backoff.attempt());
  shard.reconnect_timer.expires_after(seconds(delay));
  shard.reconnect_timer.async_wait([this, &shard](error_code ec) {
    if (!ec && !stopped_ && !shard.active) open(shard, false);
  });
}

UpstreamPool::Shard& UpstreamPool::shard_with_room(Upstream& up, const std::string& path) {
  for (auto& shard : up.shards) {
    if (shard->path == path && shard->streams.size() < up.config.max_streams_per_connection) return *shard;
  }
  up.shards.push_back(std::make_unique<Shard>(
      &up, up.shards.size(), path,
      Backoff(up.config.reconnect_base_seconds, up.config.reconnect_cap_seconds, uniform_), ioc_));
  return *up.shards.back();
}

void UpstreamPool::add_stream_to_upstream(Upstream& up, const std::string& name) {
  const auto path = route_or_throw(up.config, name);
  Shard& shard = shard_with_room(up, path);
  shard.streams.push_back(name);
  register_stream(name);
  if (!shard.active && !shard.pending_open && shard.streams.size() == 1) {
    open(shard, false);  // a new shard
    return;
  }
  boost::json::object request{{"method", "SUBSCRIBE"}, {"params", boost::json::array{boost::json::value(name)}},
                              {"id", next_request_id_++}};
  const auto text = boost::json::serialize(request);
  for (auto conn : {shard.active, shard.replacement}) {
    if (conn && !conn->ended()) conn->send_text(text);
  }
}

fanout::StreamId UpstreamPool::add_on_demand(std::string_view name, std::string& error) {
  const auto parsed = fanout::parse_stream_name(name);
  if (!parsed) {
    error = "invalid stream name `" + std::string(name) + "`";
    return fanout::kNoStream;
  }
  for (auto& up : upstreams_) {
    if (!route_stream(up->config.product, parsed->kind)) continue;
    const std::string stream(name);
    up->config.streams.push_back(stream);
    add_stream_to_upstream(*up, stream);
    log_.info("upstream stream added on demand upstream={} stream={}", up->config.name, stream);
    return router_.find(stream);
  }
  error = "stream `" + std::string(name) + "` is not carried by any configured upstream";
  return fanout::kNoStream;
}

std::vector<fanout::StreamId> UpstreamPool::apply(const std::vector<config::UpstreamConfig>& upstreams) {
  std::vector<fanout::StreamId> retired;
  auto retire = [&](const std::string& name) {
    const auto id = router_.find(name);
    if (id == fanout::kNoStream || !router_.carried(id)) return;
    router_.retire_stream(id);
    retired.push_back(id);
  };
  // Upstreams removed, or whose connection settings changed, are stopped.
  std::vector<std::unique_ptr<Upstream>> kept;
  std::vector<const config::UpstreamConfig*> to_start;
  for (auto& up : upstreams_) {
    const auto found = std::find_if(upstreams.begin(), upstreams.end(),
                                    [&](const auto& c) { return c.name == up->config.name; });
    const bool same_link = found != upstreams.end() && found->url == up->config.url &&
                           found->product == up->config.product && found->tls.verify == up->config.tls.verify &&
                           found->tls.ca_file == up->config.tls.ca_file &&
                           found->microsecond_time == up->config.microsecond_time &&
                           found->max_streams_per_connection == up->config.max_streams_per_connection;
    if (!same_link) {
      stop_upstream(*up);
      std::set<std::string> still;
      if (found != upstreams.end()) still.insert(found->streams.begin(), found->streams.end());
      for (const auto& s : up->config.streams) {
        if (!still.contains(s)) retire(s);
      }
      for (auto& shard : up->shards) {
        for (auto conn : {shard->active, shard->replacement}) {
          if (conn) by_connection_.erase(conn->id());
        }
      }
      if (found != upstreams.end()) to_start.push_back(&*found);
      continue;
    }
    // Same link: diff the streams.
    const std::set<std::string> wanted(found->streams.begin(), found->streams.end());
    const std::set<std::string> had(up->config.streams.begin(), up->config.streams.end());
    for (auto& shard : up->shards) {
      std::vector<std::string> removed;
      std::erase_if(shard->streams, [&](const std::string& s) {
        if (wanted.contains(s)) return false;
        removed.push_back(s);
        return true;
      });
      if (removed.empty()) continue;
      for (const auto& s : removed) retire(s);
      boost::json::array params;
      for (const auto& s : removed) params.emplace_back(s);
      const auto text = boost::json::serialize(
          boost::json::object{{"method", "UNSUBSCRIBE"}, {"params", params}, {"id", next_request_id_++}});
      for (auto conn : {shard->active, shard->replacement}) {
        if (conn && !conn->ended()) conn->send_text(text);
      }
    }
    const auto old_config = up->config;
    up->config = *found;
    up->config.streams = old_config.streams;
    std::erase_if(up->config.streams, [&](const std::string& s) { return !wanted.contains(s); });
    for (const auto& s : found->streams) {
      if (!had.contains(s)) {
        up->config.streams.push_back(s);
        add_stream_to_upstream(*up, s);
      }
    }
    up->opens.configure(found->connection_rate_count, seconds(found->connection_rate_window_seconds));
    for (auto& shard : up->shards) shard->backoff.configure(found->reconnect_base_seconds, found->reconnect_cap_seconds);
    kept.push_back(std::move(up));
  }
  // New names only: a kept upstream has already moved from upstreams_ to
  // `kept`, and one whose link changed is in to_start already.
  const auto named = [](const std::string& name) {
    return [&name](const std::unique_ptr<Upstream>& u) { return u && u->config.name == name; };
  };
  for (const auto& c : upstreams) {
    if (std::none_of(upstreams_.begin(), upstreams_.end(), named(c.name)) &&
        std::none_of(kept.begin(), kept.end(), named(c.name)))
      to_start.push_back(&c);
  }
  // Stopped upstreams still have connections finishing: keep their objects
  // alive until the loop ends (their handlers hold the connections only).
  for (auto& up : upstreams_) {
    if (up) retired_upstreams_.push_back(std::move(up));
  }
  upstreams_ = std::move(kept);
  for (const auto* c : to_start) {
    upstreams_.push_back(std::make_unique<Upstream>(*c, ioc_));
    start_upstream(*upstreams_.back());
  }
  return retired;
}

std::vector<UpstreamPool::ShardStatus> UpstreamPool::shard_status() const {
  std::vector<ShardStatus> out;
  for (const auto& up : upstreams_) {
    for (const auto& shard : up->shards) {
      out.push_back(ShardStatus{up->config.name, shard->index, shard->active && shard->active->is_open(),
                                shard->streams.size()});
    }
  }
  return out;
}

std::vector<UpstreamPool::UpstreamStatus> UpstreamPool::upstream_status() const {
  std::vector<UpstreamStatus> out;
  for (const auto& up : upstreams_) out.push_back(UpstreamStatus{up->config.name, up->reconnects});
  return out;
}

std::size_t UpstreamPool::connected_shards() const {
  std::size_t n = 0;
  for (const auto& s : shard_status()) n += s.connected ? 1 : 0;
  return n;
}

std::size_t UpstreamPool::total_shards() const {
  std::size_t n = 0;
  for (const auto& up : upstreams_) n += up->shards.size();
  return n;
}

}  // namespace tickrelay::upstream
