#include "metrics_exporter.hpp"

#include <prometheus/gauge.h>

#include "backbone/backbone.hpp"
#include "books/book_service.hpp"
#include "tickrelay/fanout/router.hpp"
#include "tickrelay/observe/build_info.hpp"
#include "tickrelay/observe/family_builder.hpp"
#include "tickrelay/observe/process_stats.hpp"
#include "upstream/upstream_pool.hpp"

namespace tickrelay::relay {

using fanout::DisconnectReason;
using fanout::kDisconnectReasonCount;
using fanout::kRefusalReasonCount;
using fanout::reason_label;
using fanout::RefusalReason;
using fanout::RelayCounters;
using observe::counter_metric;
using observe::gauge_metric;
using observe::Histogram;
using observe::histogram_metric;
using observe::Labels;
using observe::make_family;
using observe::read_self_sample;
using prometheus::MetricType;

namespace {

prometheus::ClientMetric histogram_of(const Histogram& h, Labels labels);

}  // namespace

void append_process_families(std::vector<prometheus::MetricFamily>& out) {
  const auto sample = read_self_sample();
  if (!sample) return;
  auto single = [&](const char* name, const char* help, MetricType type, double value) {
    auto family = make_family(name, help, type);
    family.metric.push_back(type == MetricType::Counter ? counter_metric({}, value) : gauge_metric({}, value));
    out.push_back(std::move(family));
  };
  single("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", MetricType::Counter,
         sample->cpu_seconds);
  single("process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::Gauge,
         static_cast<double>(sample->resident_bytes));
  single("process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::Gauge,
         static_cast<double>(sample->virtual_bytes));
  single("process_open_fds", "Number of open file descriptors.", MetricType::Gauge,
         static_cast<double>(sample->open_fds));
  single("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", MetricType::Gauge,
         sample->start_time_seconds);
  single("tickrelay_process_threads", "Threads in the process (the relay runs one).", MetricType::Gauge,
         static_cast<double>(sample->threads));
}

namespace {

prometheus::ClientMetric histogram_of(const Histogram& h, Labels labels) {
  return histogram_metric(std::move(labels), Histogram::kBounds, h.buckets(), h.sum());
}

}  // namespace

MetricsExporter::MetricsExporter(const RelayCounters& counters, const fanout::Router& router,
                                 const upstream::UpstreamPool& pool, const backbone::Backbone* backbone,
                                 const books::BookService* books)
    : counters_(counters),
      router_(router),
      pool_(pool),
      backbone_(backbone),
      books_(books),
      registry_(std::make_shared<prometheus::Registry>()) {
  prometheus::BuildGauge()
      .Name("tickrelay_build_info")
      .Help("Version and commit of the running tickrelay; always 1.")
      .Register(*registry_)
      .Add({{"version", TICKRELAY_VERSION}, {"commit", observe::build_commit()}})
      .Set(1);
}

std::vector<prometheus::MetricFamily> MetricsExporter::Collect() const {
  auto out = registry_->Collect();
  append_process_families(out);
  const auto& c = counters_;
  auto counter = [&](const char* name, const char* help, std::uint64_t value) {
    auto family = make_family(name, help, MetricType::Counter);
    family.metric.push_back(counter_metric({}, static_cast<double>(value)));
    out.push_back(std::move(family));
  };
  auto gauge = [&](const char* name, const char* help, double value) {
    auto family = make_family(name, help, MetricType::Gauge);
    family.metric.push_back(gauge_metric({}, value));
    out.push_back(std::move(family));
  };
  auto histogram = [&](const char* name, const char* help, const Histogram& h) {
    auto family = make_family(name, help, MetricType::Histogram);
    family.metric.push_back(histogram_of(h, {}));
    out.push_back(std::move(family));
  };

  auto connected = make_family("tickrelay_upstream_connected", "1 while the shard's upstream connection is open.",
                               MetricType::Gauge);
  for (const auto& shard : pool_.shard_status()) {
    connected.metric.push_back(
        gauge_metric({{"upstream", shard.upstream}, {"shard", std::to_string(shard.shard)}}, shard.connected ? 1 : 0));
  }
  out.push_back(std::move(connected));
  auto reconnects = make_family("tickrelay_upstream_reconnects_total",
                                "Upstream connections replaced, by upstream and reason.", MetricType::Counter);
  for (const auto& up : pool_.upstream_status()) {
    for (std::size_t r = 0; r < up.reconnects.size(); ++r) {
      const auto reason = static_cast<upstream::EndReason>(r);
      if (reason == upstream::EndReason::stopped) continue;
      reconnects.metric.push_back(
          counter_metric({{"upstream", up.name}, {"reason", std::string(upstream::end_reason_label(reason))}},
                         static_cast<double>(up.reconnects[r])));
    }
  }
  out.push_back(std::move(reconnects));
  counter("tickrelay_upstream_messages_total", "Messages read from upstream connections.", c.upstream_messages);
  counter("tickrelay_upstream_bytes_total", "Bytes of messages read from upstream connections.", c.upstream_bytes);
  counter("tickrelay_upstream_malformed_total", "Upstream messages that could not be parsed; skipped.",
          c.upstream_malformed);
  counter("tickrelay_upstream_unknown_stream_total", "Upstream events for streams the relay did not ask for; skipped.",
          c.upstream_unknown_stream);
  counter("tickrelay_upstream_duplicates_total",
          "Upstream events already delivered through another connection (rotation overlap); dropped.",
          c.upstream_duplicates);
  auto gaps = make_family("tickrelay_upstream_gaps_total",
                          "Jumps in ids that grow by one per event (trade t, aggTrade a).", MetricType::Counter);
  for (auto kind : {fanout::StreamKind::trade, fanout::StreamKind::agg_trade}) {
    gaps.metric.push_back(counter_metric({{"stream_type", std::string(fanout::kind_label(kind))}},
                                         static_cast<double>(c.upstream_gaps[static_cast<std::size_t>(kind)])));
  }
  out.push_back(std::move(gaps));
  histogram("tickrelay_upstream_event_lag_seconds", "Event age when read from upstream: now minus the event time E.",
            c.upstream_event_lag);
  gauge("tickrelay_streams_carried", "Streams the relay subscribes upstream.",
        static_cast<double>(router_.carried_count()));

  gauge("tickrelay_clients_connected", "WebSocket clients connected.", static_cast<double>(c.clients_connected));
  auto disconnects = make_family("tickrelay_client_disconnects_total", "Clients that left, by reason.",
                                 MetricType::Counter);
  for (std::size_t r = 0; r < kDisconnectReasonCount; ++r) {
    disconnects.metric.push_back(
        counter_metric({{"reason", std::string(reason_label(static_cast<DisconnectReason>(r)))}},
                       static_cast<double>(c.client_disconnects[r])));
  }
  out.push_back(std::move(disconnects));
  auto refused = make_family("tickrelay_handshakes_refused_total", "Client handshakes refused, by reason.",
                             MetricType::Counter);
  for (std::size_t r = 0; r < kRefusalReasonCount; ++r) {
    refused.metric.push_back(counter_metric({{"reason", std::string(reason_label(static_cast<RefusalReason>(r)))}},
                                            static_cast<double>(c.handshakes_refused[r])));
  }
  out.push_back(std::move(refused));
  counter("tickrelay_client_requests_total", "Control messages (SUBSCRIBE, ...) answered.", c.client_requests);
  counter("tickrelay_delivered_messages_total", "Market-data messages written to clients.", c.delivered_messages);
  counter("tickrelay_delivered_bytes_total", "Bytes written to clients.", c.delivered_bytes);
  counter("tickrelay_client_writes_total",
          "Writes to clients (one sendmsg each on plain sockets, one TLS write each on wss); "
          "delivered messages over writes is the batch size.",
          c.client_writes);
  gauge("tickrelay_client_queue_bytes", "Bytes queued for clients, all clients together.",
        static_cast<double>(c.client_queue_bytes));
  histogram("tickrelay_relay_latency_seconds",
            "Time from reading a message upstream to finishing its write to a client.", c.relay_latency);
  histogram("tickrelay_client_lag_seconds",
            "Age of a client's oldest queued frame when a write to it starts (server.max_client_lag bounds it).",
            c.client_lag);

  // The backbone's families exist on every relay (zero without one), so
  // dashboards and alerts need no second shape.
  static const backbone::BackboneCounters kNone;
  const auto& b = backbone_ ? backbone_->counters() : kNone;
  gauge("tickrelay_backbone_connected", "1 while connected to a NATS server of the backbone.",
        backbone_ && backbone_->connected() ? 1 : 0);
  counter("tickrelay_backbone_reconnects_total", "Reconnections to the backbone after a lost connection.",
          backbone_ ? backbone_->reconnects() : 0);
  counter("tickrelay_backbone_published_messages_total", "Events published on the backbone (ingest).", b.published);
  counter("tickrelay_backbone_publish_errors_total",
          "Events not published: not connected, output buffer full, or no subject.", b.publish_errors);
  counter("tickrelay_backbone_received_messages_total", "Messages received from the backbone (edge).", b.received);
  counter("tickrelay_backbone_duplicates_total",
          "Backbone messages already delivered through another ingest relay; dropped.", b.duplicates);
  counter("tickrelay_backbone_last_value_requests_total",
          "Latest-value requests sent when a stream got its first client.", b.last_value_requests);
  counter("tickrelay_backbone_last_value_answers_total", "Latest-value requests answered (ingest).",
          b.last_value_answers);
  gauge("tickrelay_backbone_subscriptions", "Stream subjects subscribed on the backbone (edge).",
        backbone_ ? static_cast<double>(backbone_->subscriptions()) : 0);
  histogram("tickrelay_backbone_rtt_seconds", "Round trip to the backbone's NATS server and back.", b.rtt);

  // Order books (config/README.md, `books`), zero with none kept.
  static const books::BookCounters kNoBooks;
  const auto& k = books_ ? books_->counters() : kNoBooks;
  gauge("tickrelay_books", "Order books kept from a diff-depth stream and REST snapshots.",
        books_ ? static_cast<double>(books_->book_count()) : 0);
  gauge("tickrelay_books_synced", "Order books in step with their stream, served at the REST depth paths.",
        books_ ? static_cast<double>(books_->synced_count()) : 0);
  gauge("tickrelay_book_levels", "Price levels held by all order books (books.max_levels bounds each side).",
        books_ ? static_cast<double>(books_->level_count()) : 0);
  gauge("tickrelay_book_bytes", "Memory the order books' levels take, estimated.",
        books_ ? static_cast<double>(books_->bytes()) : 0);
  gauge("tickrelay_book_oldest_age_seconds", "Time since the least recently updated order book in step changed.",
        books_ ? books_->oldest_age_seconds() : 0);
  auto resyncs = make_family("tickrelay_book_resyncs_total", "Order books started over from a new snapshot, by reason.",
                             MetricType::Counter);
  const auto by_reason = books_ ? books_->resyncs() : std::array<std::uint64_t, books::kResyncReasonCount>{};
  for (std::size_t r = 0; r < by_reason.size(); ++r) {
    resyncs.metric.push_back(
        counter_metric({{"reason", books::resync_reason_label(static_cast<books::ResyncReason>(r))}},
                       static_cast<double>(by_reason[r])));
  }
  out.push_back(std::move(resyncs));
  counter("tickrelay_book_snapshot_requests_total", "REST depth snapshots requested from the upstreams' APIs.",
          k.snapshot_requests);
  counter("tickrelay_book_snapshot_failures_total", "Snapshot requests that failed (asked again after a backoff).",
          k.snapshot_failures);
  counter("tickrelay_book_snapshot_rate_limited_total", "Snapshot requests the API refused with 429 or 418.",
          k.snapshot_rate_limited);
  counter("tickrelay_book_snapshot_weight_total",
          "Request weight spent on snapshots (books.weight_per_minute paces it).", k.snapshot_weight);
  counter("tickrelay_book_malformed_events_total", "Diff-depth events the books could not read; skipped.",
          k.malformed_events);
  auto answers = make_family("tickrelay_book_rest_requests_total", "Depth snapshot requests from clients, by result.",
                             MetricType::Counter);
  answers.metric.push_back(counter_metric({{"result", "ok"}}, static_cast<double>(k.rest_answers)));
  answers.metric.push_back(counter_metric({{"result", "error"}}, static_cast<double>(k.rest_errors)));
  answers.metric.push_back(counter_metric({{"result", "rate_limited"}}, static_cast<double>(k.rest_rate_limited)));
  out.push_back(std::move(answers));
  return out;
}

}  // namespace tickrelay::relay
