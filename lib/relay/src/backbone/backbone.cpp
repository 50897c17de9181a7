#include "backbone/backbone.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <unordered_set>

#include "backbone/subjects.hpp"
#include "tickrelay/fanout/relay_counters.hpp"
#include "tickrelay/fanout/router.hpp"
#include "tickrelay/fanout/stream_catalog.hpp"
#include "tickrelay/fanout/stream_name.hpp"
#include "tickrelay/wire/duration.hpp"
#include "upstream/stream_routing.hpp"

namespace tickrelay::backbone {

namespace {

using Clock = std::chrono::steady_clock;

// How often the round trip to the server is measured.
constexpr auto kRttInterval = std::chrono::seconds(2);

}  // namespace

Backbone::Backbone(net::io_context& ioc, const config::NatsConfig& config, fanout::Router& router,
                   fanout::RelayCounters& counters, spdlog::logger& log, ReplayPolicy replay)
    : ioc_(ioc),
      config_(config),
      router_(router),
      relay_counters_(counters),
      log_(log),
      replay_(std::move(replay)),
      client_(ioc, config, log),
      source_subject_(source_subject(config.subject_prefix, config.name)),
      edge_ingest_(router, counters),
      sweep_timer_(ioc),
      rtt_timer_(ioc) {}

Backbone::~Backbone() { stop(); }

void Backbone::start() {
  if (started_) return;
  started_ = true;
  client_.start();
  inbox_ = client_.new_inbox();
  // Answers to our last-value requests come back like events.
  client_.subscribe(inbox_ + ".last", [this](std::string_view, std::string_view reply, const char* data,
                                             std::size_t size) { on_message(reply, data, size); });
  client_.subscribe(inbox_ + ".rtt", [this](std::string_view, std::string_view, const char* data, std::size_t size) {
    std::int64_t sent = 0;
    if (std::from_chars(data, data + size, sent).ec != std::errc{}) return;
    const auto now = Clock::now().time_since_epoch().count();
    counters_.rtt.observe(static_cast<double>(std::max<std::int64_t>(0, now - sent)) * 1e-9);
  });
  if (config_.publish) {
    client_.subscribe(config_.subject_prefix + "-last.>",
                      [this](std::string_view subject, std::string_view reply, const char*, std::size_t) {
                        on_last_value_request(subject, reply);
                      });
  }
  probe_rtt();
  sweep();
}

void Backbone::stop() {
  if (!started_) return;
  started_ = false;
  sweep_timer_.cancel();
  rtt_timer_.cancel();
  client_.stop();
}

// Ingest role.

void Backbone::index_published(const std::vector<config::UpstreamConfig>& upstreams) {
  for (const auto& up : upstreams) {
    if (up.type != config::UpstreamType::binance) continue;
    for (const auto& name : up.streams) {
      const auto id = router_.find(name);
      if (id == fanout::kNoStream) continue;
      if (subjects_.size() <= id) subjects_.resize(id + 1);
      subjects_[id] = event_subject(config_.subject_prefix, up.product, name);
      by_last_subject_[last_value_subject(config_.subject_prefix, up.product, name)] = id;
    }
  }
}

void Backbone::publish(fanout::StreamId stream, std::string_view message) {
  if (stream >= subjects_.size() || subjects_[stream].empty() ||
      !client_.publish(subjects_[stream], source_subject_, message)) {
    ++counters_.publish_errors;
    return;
  }
  ++counters_.published;
}

void Backbone::on_last_value_request(std::string_view subject, std::string_view reply) {
  if (reply.empty()) return;
  const auto it = by_last_subject_.find(std::string(subject));
  if (it == by_last_subject_.end() || !router_.carried(it->second)) return;
  const auto& last = router_.last_value(it->second);
  if (!last) return;
  if (client_.publish(std::string(reply), source_subject_, last->envelope_payload())) ++counters_.last_value_answers;
}

// Edge role.

std::vector<fanout::StreamId> Backbone::apply_edge(const std::vector<config::UpstreamConfig>& upstreams) {
  std::unordered_set<fanout::StreamId> wanted;
  for (const auto& up : upstreams) {
    if (up.type != config::UpstreamType::nats) continue;
    for (const auto& name : up.streams) {
      const auto parsed = fanout::parse_stream_name(name);
      if (!parsed) continue;  // the loader checked every name
      auto id = router_.find(name);
      if (id == fanout::kNoStream || !router_.carried(id)) {
        id = router_.add_stream(name, parsed->kind, replay_(parsed->kind));
      }
      if (!edge_.contains(id)) {
        EdgeStream stream;
        stream.subject = event_subject(config_.subject_prefix, up.product, name);
        stream.last_subject = last_value_subject(config_.subject_prefix, up.product, name);
        edge_.emplace(id, std::move(stream));
      }
      edge_ingest_.declare(id, up.microsecond_time ? upstream::TimeUnit::microsecond : upstream::TimeUnit::millisecond,
                           upstream::route_stream(up.product, parsed->kind).value_or(""));
      wanted.insert(id);
    }
  }
  std::vector<fanout::StreamId> retired;
  for (auto it = edge_.begin(); it != edge_.end();) {
    if (wanted.contains(it->first)) {
      ++it;
      continue;
    }
    if (it->second.subscription != 0) client_.unsubscribe(it->second.subscription);
    router_.retire_stream(it->first);
    retired.push_back(it->first);
    if (const auto other = edge_ingest_.other_form(it->first); other != fanout::kNoStream && router_.carried(other)) {
      router_.retire_stream(other);
      retired.push_back(other);
    }
    it = edge_.erase(it);
  }
  return retired;
}

fanout::StreamId Backbone::client_form(fanout::StreamId stream, std::string_view prefix, bool microsecond) {
  const auto form = edge_ingest_.client_form(stream, prefix,
                                             microsecond ? upstream::TimeUnit::microsecond
                                                         : upstream::TimeUnit::millisecond);
  if (form != fanout::kSilentStream) want(stream);
  return form;
}

void Backbone::want(fanout::StreamId stream) {
  const auto it = edge_.find(stream);
  if (it == edge_.end()) return;
  auto& s = it->second;
  s.idle_since = Clock::time_point::max();
  if (s.subscription != 0) return;
  s.subscription = client_.subscribe(s.subject, [this](std::string_view, std::string_view reply, const char* data,
                                                       std::size_t size) { on_message(reply, data, size); });
  if (s.subscription == 0) return;
  log_.debug("backbone subscribed subject={}", s.subject);
  if (router_.replays(stream) && !router_.last_value(stream)) {
    ++counters_.last_value_requests;
    client_.publish(s.last_subject, inbox_ + ".last", {});
  }
}

void Backbone::on_message(std::string_view reply, const char* data, std::size_t size) {
  ++counters_.received;
  const auto now = Clock::now();
  const auto duplicates = relay_counters_.upstream_duplicates;
  // nats.c ends every payload with a NUL; the parser copies what lacks its
  // padding.
  edge_ingest_.process(source_id(reply, now), data, size, size + 1, now);
  if (relay_counters_.upstream_duplicates != duplicates) ++counters_.duplicates;
}

std::uint64_t Backbone::source_id(std::string_view reply, Clock::time_point now) {
  // Bounded: a source is forgotten once silent (sweep()).
  auto it = sources_.find(reply);
  if (it == sources_.end()) {
    if (sources_.size() >= 1024) return 0;  // not an ingest relay's; follows none
    it = sources_.emplace(std::string(reply), Source{next_source_++, now}).first;
    log_.info("backbone source appeared source={}", reply.empty() ? "(none)" : std::string(reply));
  }
  it->second.last_seen = now;
  return it->second.id;
}

std::size_t Backbone::subscriptions() const {
  return static_cast<std::size_t>(
      std::count_if(edge_.begin(), edge_.end(), [](const auto& entry) { return entry.second.subscription != 0; }));
}

void Backbone::sweep() {
  const auto now = Clock::now();
  const auto grace = wire::to_duration(config_.unsubscribe_grace_seconds);
  for (auto& [id, s] : edge_) {
    if (s.subscription == 0) continue;
    if (edge_ingest_.subscriber_count(id) != 0) {
      s.idle_since = Clock::time_point::max();
    } else if (s.idle_since == Clock::time_point::max()) {
      s.idle_since = now;
    }
    if (s.idle_since != Clock::time_point::max() && now - s.idle_since >= grace) {
      client_.unsubscribe(s.subscription);
      s.subscription = 0;
      s.idle_since = Clock::time_point::max();
      log_.debug("backbone unsubscribed subject={}", s.subject);
    }
  }
  const auto timeout = wire::to_duration(config_.source_timeout_seconds);
  for (auto it = sources_.begin(); it != sources_.end();) {
    if (now - it->second.last_seen < timeout) {
      ++it;
      continue;
    }
    // Streams without event ids that followed it follow the next to deliver.
    edge_ingest_.connection_closed(it->second.id);
    log_.info("backbone source went silent source={}", it->first.empty() ? "(none)" : it->first);
    it = sources_.erase(it);
  }
  const auto interval = std::clamp<Clock::duration>(std::min(grace, timeout) / 2, std::chrono::milliseconds(50),
                                                    std::chrono::seconds(1));
  sweep_timer_.expires_after(interval);
  sweep_timer_.async_wait([this](error_code ec) {
    if (!ec) sweep();
  });
}

void Backbone::probe_rtt() {
  if (client_.connected()) client_.publish(inbox_ + ".rtt", std::to_string(Clock::now().time_since_epoch().count()));
  rtt_timer_.expires_after(kRttInterval);
  rtt_timer_.async_wait([this](error_code ec) {
    if (!ec) probe_rtt();
  });
}

}  // namespace tickrelay::backbone
