#include "upstream/upstream_pool.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "tickrelay/fanout/stream_name.hpp"
#include "tickrelay/relay/shard_plan.hpp"
#include "tickrelay/wire/duration.hpp"
#include "upstream/backoff.hpp"
#include "upstream/rate_window.hpp"
#include "upstream/reload_plan.hpp"
#include "upstream/shard.hpp"
#include "upstream/stream_routing.hpp"
#include "upstream/upstream_link.hpp"

namespace tickrelay::upstream {

struct UpstreamPool::Upstream {
  config::UpstreamConfig config;
  UpstreamLink link;
  RateWindow opens;
  ReconnectCounts reconnects{};
  // Shards planned at start, opened by launch(); more are added on demand.
  std::vector<ShardSpec> plan;
  std::vector<std::shared_ptr<Shard>> shards;

  Upstream(config::UpstreamConfig c, UpstreamLink l)
      : config(std::move(c)),
        link(std::move(l)),
        opens(config.connection_rate_count, wire::to_duration(config.connection_rate_window_seconds)) {}

  bool idle() const {
    return std::all_of(shards.begin(), shards.end(), [](const auto& s) { return s->idle(); });
  }
};

UpstreamPool::UpstreamPool(net::io_context& ioc, ConnectionFactory& factory, fanout::Router& router,
                           fanout::RelayCounters& counters, spdlog::logger& log, ReplayPolicy replay,
                           std::function<double()> uniform)
    : ioc_(ioc),
      factory_(factory),
      router_(router),
      log_(log),
      replay_(std::move(replay)),
      uniform_(std::move(uniform)),
      ingest_(router, counters),
      free_timer_(ioc) {}

UpstreamPool::~UpstreamPool() { stop(); }

fanout::StreamId UpstreamPool::register_stream(const Upstream& up, const std::string& name) {
  const auto parsed = fanout::parse_stream_name(name);
  const auto id = router_.add_stream(name, parsed->kind, replay_(parsed->kind));
  ingest_.declare(id, up.config.microsecond_time ? TimeUnit::microsecond : TimeUnit::millisecond,
                  route_stream(up.config.product, parsed->kind).value_or(""));
  return id;
}

fanout::StreamId UpstreamPool::client_form(fanout::StreamId stream, std::string_view prefix, bool microsecond) {
  return ingest_.client_form(stream, prefix, microsecond ? TimeUnit::microsecond : TimeUnit::millisecond);
}

std::unique_ptr<UpstreamPool::Upstream> UpstreamPool::prepare(const config::UpstreamConfig& config) {
  // Everything that can throw happens here, before anything runs.
  auto up = std::make_unique<Upstream>(config, make_upstream_link(config));
  up->plan = plan_shards(up->config);
  return up;
}

void UpstreamPool::launch(Upstream& up) {
  if (up.link.tls && !up.config.tls.verify) {
    log_.warn("upstream TLS verification is OFF upstream={}: certificates and host names are not checked",
              up.config.name);
  }
  for (const auto& name : up.config.streams) register_stream(up, name);
  for (auto& spec : up.plan) {
    up.shards.push_back(
        std::make_shared<Shard>(ioc_, factory_, ingest_, up.link, up.opens, up.reconnects,
                                Backoff(up.config.reconnect_base_seconds, up.config.reconnect_cap_seconds, uniform_),
                                log_, up.shards.size(), std::move(spec.path), std::move(spec.streams),
                                [this] { on_shard_idle(); }));
  }
  up.plan.clear();
  log_.info("upstream starting upstream={} product={} streams={} connections={}", up.config.name,
            config::product_name(up.config.product), up.config.streams.size(), up.shards.size());
  for (auto& shard : up.shards) shard->start();
}

void UpstreamPool::start(const std::vector<config::UpstreamConfig>& upstreams) {
  stopped_ = false;
  std::vector<std::unique_ptr<Upstream>> prepared;
  for (const auto& config : upstreams) prepared.push_back(prepare(config));
  for (auto& up : prepared) {
    upstreams_.push_back(std::move(up));
    launch(*upstreams_.back());
  }
}

void UpstreamPool::stop() {
  if (stopped_) return;
  stopped_ = true;
  free_timer_.cancel();
  for (auto& up : upstreams_) {
    for (auto& shard : up->shards) shard->stop();
  }
}

void UpstreamPool::retire(std::unique_ptr<Upstream> up) {
  retired_.push_back(std::move(up));
  for (auto& shard : retired_.back()->shards) shard->stop();
  on_shard_idle();
}

void UpstreamPool::on_shard_idle() {
  if (stopped_) return;
  free_timer_.expires_after(std::chrono::steady_clock::duration::zero());
  free_timer_.async_wait([this](error_code ec) {
    if (ec) return;
    free_retired();
  });
}

void UpstreamPool::free_retired() {
  std::erase_if(retired_, [](const std::unique_ptr<Upstream>& up) { return up->idle(); });
}

void UpstreamPool::add_streams(Upstream& up, const std::vector<std::string>& names) {
  // Gathered per shard first: an upstream counts messages, not streams (a
  // relay read as upstream allows 5 a second, as Binance does), so a reload
  // adding many streams costs each connection a few SUBSCRIBEs, not one each.
  std::vector<std::pair<Shard*, std::vector<std::string>>> batches;
  std::vector<Shard*> created;
  const auto batch_of = [&](Shard* shard) -> std::vector<std::string>& {
    for (auto& [s, batch] : batches) {
      if (s == shard) return batch;
    }
    return batches.emplace_back(shard, std::vector<std::string>{}).second;
  };
  const auto pending = [&](const Shard* shard) {
    for (const auto& [s, batch] : batches) {
      if (s == shard) return batch.size();
    }
    return std::size_t{0};
  };
  // Routed first: a stream that cannot be routed throws before anything changed.
  std::vector<std::string> paths;
  paths.reserve(names.size());
  for (const auto& name : names) paths.emplace_back(route_or_throw(up.config, name));
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto& name = names[i];
    const auto& path = paths[i];
    register_stream(up, name);
    Shard* target = nullptr;
    for (auto& shard : up.shards) {
      if (shard->path() == path &&
          shard->streams().size() + pending(shard.get()) < up.config.max_streams_per_connection) {
        target = shard.get();
        break;
      }
    }
    if (target == nullptr) {
      // Started below, once it holds its whole share: those streams go in
      // its URL.
      auto shard = std::make_shared<Shard>(ioc_, factory_, ingest_, up.link, up.opens, up.reconnects,
                                           Backoff(up.config.reconnect_base_seconds, up.config.reconnect_cap_seconds,
                                                   uniform_),
                                           log_, up.shards.size(), path, std::vector<std::string>{},
                                           [this] { on_shard_idle(); });
      up.shards.push_back(shard);
      target = shard.get();
      created.push_back(target);
    }
    batch_of(target).push_back(name);
  }
  for (const auto& [shard, batch] : batches) shard->add_streams(batch);
  if (stopped_) return;
  for (auto* shard : created) shard->start();
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
    add_streams(*up, {stream});
    log_.info("upstream stream added on demand upstream={} stream={}", up->config.name, stream);
    return router_.find(stream);
  }
  error = "stream `" + std::string(name) + "` is not carried by any configured upstream";
  return fanout::kNoStream;
}

std::vector<config::UpstreamConfig> UpstreamPool::configs() const {
  std::vector<config::UpstreamConfig> out;
  for (const auto& up : upstreams_) out.push_back(up->config);
  return out;
}

UpstreamPool::PreparedReload::PreparedReload() = default;
UpstreamPool::PreparedReload::~PreparedReload() = default;
UpstreamPool::PreparedReload::PreparedReload(PreparedReload&&) noexcept = default;
UpstreamPool::PreparedReload& UpstreamPool::PreparedReload::operator=(PreparedReload&&) noexcept = default;

UpstreamPool::PreparedReload UpstreamPool::prepare_apply(const std::vector<config::UpstreamConfig>& upstreams) {
  PreparedReload reload;
  reload.upstreams = upstreams;
  std::vector<config::UpstreamConfig> running;
  for (const auto& up : upstreams_) running.push_back(up->config);
  reload.plan = plan_reload(running, reload.upstreams);
  for (const auto index : reload.plan.start) reload.starting.push_back(prepare(reload.upstreams[index]));
  for (const auto& keep : reload.plan.keep) {
    for (const auto& s : keep.add) route_or_throw(reload.upstreams[keep.config], s);
  }
  return reload;
}

std::vector<fanout::StreamId> UpstreamPool::apply(PreparedReload reload) {
  const auto& plan = reload.plan;
  const auto& upstreams = reload.upstreams;
  auto& starting = reload.starting;
  const auto find = [&](const std::string& name) {
    return std::find_if(upstreams_.begin(), upstreams_.end(), [&](const auto& up) { return up->config.name == name; });
  };

  std::vector<fanout::StreamId> retired;
  const auto retire_stream = [&](const std::string& name) {
    const auto id = router_.find(name);
    if (id == fanout::kNoStream || !router_.carried(id)) return;
    router_.retire_stream(id);
    retired.push_back(id);
    if (const auto other = ingest_.other_form(id); other != fanout::kNoStream && router_.carried(other)) {
      router_.retire_stream(other);
      retired.push_back(other);
    }
  };
  for (const auto& stop : plan.stop) {
    const auto it = find(stop.name);
    auto up = std::move(*it);
    upstreams_.erase(it);
    for (const auto& s : stop.retire) retire_stream(s);
    retire(std::move(up));
  }
  for (const auto& keep : plan.keep) {
    auto& up = **find(keep.name);
    const auto& next = upstreams[keep.config];
    const std::set<std::string> wanted(next.streams.begin(), next.streams.end());
    for (auto& shard : up.shards) {
      for (const auto& s : shard->keep_only(wanted)) retire_stream(s);
    }
    // The running order stays, new streams go last.
    auto streams = std::move(up.config.streams);
    std::erase_if(streams, [&](const std::string& s) { return !wanted.contains(s); });
    up.config = next;
    up.config.streams = std::move(streams);
    up.config.streams.insert(up.config.streams.end(), keep.add.begin(), keep.add.end());
    add_streams(up, keep.add);
    if (keep.limits_changed) {
      up.opens.configure(next.connection_rate_count, wire::to_duration(next.connection_rate_window_seconds));
      update_link_limits(up.link, next);
      for (auto& shard : up.shards) shard->backoff().configure(next.reconnect_base_seconds, next.reconnect_cap_seconds);
    }
  }
  for (auto& up : starting) {
    upstreams_.push_back(std::move(up));
    launch(*upstreams_.back());
  }
  return retired;
}

std::vector<UpstreamPool::ShardStatus> UpstreamPool::shard_status() const {
  std::vector<ShardStatus> out;
  for (const auto& up : upstreams_) {
    for (const auto& shard : up->shards) {
      out.push_back(ShardStatus{up->config.name, shard->index(), shard->connected(), shard->streams().size()});
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
