#include "load_metrics.hpp"

#include <unistd.h>

#include "load_worker.hpp"
#include "tickrelay/observe/family_builder.hpp"
#include "tickrelay/observe/process_stats.hpp"

namespace tickrelay::client {
using prometheus::MetricType;

const std::vector<double>& LoadMetrics::latency_bounds() {
  static const std::vector<double> bounds = {10e-6, 25e-6, 50e-6,  100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3,
                                             25e-3, 50e-3, 100e-3, 250e-3, 500e-3, 1.0,    2.5,  5.0,    10.0};
  return bounds;
}

std::vector<prometheus::MetricFamily> LoadMetrics::collect() const {
  auto messages = observe::make_family("tickrelay_load_messages_total", "Market messages received.",
                                       MetricType::Counter);
  auto bytes = observe::make_family("tickrelay_load_bytes_total", "Payload bytes of market messages received.",
                                    MetricType::Counter);
  auto latency = observe::make_family("tickrelay_load_latency_seconds",
                                      "Receive time minus the event time E of each market message.",
                                      MetricType::Histogram);
  auto connections = observe::make_family("tickrelay_load_connections", "WebSocket connections up.", MetricType::Gauge);
  auto planned = observe::make_family("tickrelay_load_connections_planned", "Connections the run asks for.",
                                      MetricType::Gauge);
  auto errors = observe::make_family("tickrelay_load_errors_total",
                                     "Failed connection attempts plus dropped connections.", MetricType::Counter);
  auto reconnects = observe::make_family("tickrelay_load_reconnects_total", "Connections re-established after a drop.",
                                         MetricType::Counter);
  auto gaps = observe::make_family("tickrelay_load_gaps_total", "Messages missing from per-stream id sequences.",
                                   MetricType::Counter);
  auto duplicates = observe::make_family("tickrelay_load_duplicates_total", "Repeated or backwards sequence ids.",
                                         MetricType::Counter);
  auto malformed = observe::make_family("tickrelay_load_malformed_total", "Messages that were not Binance JSON.",
                                        MetricType::Counter);
  auto server_cpu = observe::make_family("tickrelay_load_server_cpu_seconds_total",
                                         "CPU seconds of the measured server process (--server-pid).",
                                         MetricType::Counter);
  auto server_rss = observe::make_family("tickrelay_load_server_resident_memory_bytes",
                                         "Resident memory of the measured server process (--server-pid).",
                                         MetricType::Gauge);

  const auto& bounds = latency_bounds();
  std::vector<std::uint64_t> bounds_ns;
  for (double b : bounds) bounds_ns.push_back(static_cast<std::uint64_t>(b * 1e9 + 0.5));
  std::vector<std::uint64_t> counts(bounds.size() + 1);

  for (std::size_t t = 0; t < options_.targets.size(); ++t) {
    const TargetSpec& spec = options_.targets[t];
    const observe::Labels labels{{"impl", spec.impl}, {"target", spec.url}};
    // Whole-run totals: a scrape shows what the counters have seen, warm-up included.
    TargetCounts<std::uint64_t> sum;
    std::uint64_t up = 0;
    LatencyRecorder merged;
    for (const auto& worker : workers_) {
      const TargetTally& tally = worker->tally(t);
      for_each_count([](bool, std::uint64_t& total, const RelaxedCounter& count) { total += count.get(); }, sum, tally);
      up += tally.connections_up.get();
      merged.merge_from(tally.latency);
    }
    messages.metric.push_back(observe::counter_metric(labels, double(sum.messages)));
    bytes.metric.push_back(observe::counter_metric(labels, double(sum.bytes)));
    connections.metric.push_back(observe::gauge_metric(labels, double(up)));
    planned.metric.push_back(observe::gauge_metric(labels, double(options_.connections)));
    errors.metric.push_back(observe::counter_metric(labels, double(sum.connect_errors + sum.drops)));
    reconnects.metric.push_back(observe::counter_metric(labels, double(sum.reconnects)));
    gaps.metric.push_back(observe::counter_metric(labels, double(sum.lost)));
    duplicates.metric.push_back(observe::counter_metric(labels, double(sum.duplicates)));
    malformed.metric.push_back(observe::counter_metric(labels, double(sum.malformed)));
    merged.bucket_counts(bounds_ns, counts);
    latency.metric.push_back(observe::histogram_metric(labels, bounds, counts, double(merged.sum()) / 1e9));
    if (spec.server_pid) {
      if (const auto sample = observe::read_process_sample(*spec.server_pid)) {
        server_cpu.metric.push_back(observe::counter_metric(labels, sample->cpu_seconds));
        server_rss.metric.push_back(observe::gauge_metric(labels, double(sample->resident_bytes)));
      }
    }
  }

  auto cpu = observe::make_family("tickrelay_load_cpu_seconds_total", "CPU seconds of this load client.",
                                  MetricType::Counter);
  auto rss = observe::make_family("tickrelay_load_resident_memory_bytes", "Resident memory of this load client.",
                                  MetricType::Gauge);
  if (const auto self = observe::read_self_sample()) {
    cpu.metric.push_back(observe::counter_metric({}, self->cpu_seconds));
    rss.metric.push_back(observe::gauge_metric({}, double(self->resident_bytes)));
  }
  std::vector<prometheus::MetricFamily> families;
  for (auto* family : {&messages, &bytes, &latency, &connections, &planned, &errors, &reconnects, &gaps, &duplicates,
                       &malformed, &cpu, &rss, &server_cpu, &server_rss}) {
    if (!family->metric.empty()) families.push_back(std::move(*family));
  }
  return families;
}

}  // namespace tickrelay::client
