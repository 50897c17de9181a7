#include "load_runner.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "load_metrics.hpp"
#include "load_worker.hpp"
#include "tickrelay/observe/metrics_server.hpp"
#include "tickrelay/wire/duration.hpp"
#include "tickrelay/wire/tls_context.hpp"

namespace tickrelay::client {
namespace {

// The live line, /proc samples and the metrics' freshness all move at the
// pace people read a terminal and Prometheus scrapes: once a second.
constexpr auto kTick = std::chrono::seconds(1);

double ms(std::uint64_t ns) { return static_cast<double>(ns) / 1e6; }

LatencySummary summarize(const LatencyRecorder& latency) {
  LatencySummary s;
  s.samples = latency.count();
  if (s.samples == 0) return s;
  s.avg_ms = latency.mean() / 1e6;
  s.min_ms = ms(latency.min());
  s.p50_ms = ms(latency.value_at_percentile(50));
  s.p90_ms = ms(latency.value_at_percentile(90));
  s.p99_ms = ms(latency.value_at_percentile(99));
  s.p999_ms = ms(latency.value_at_percentile(99.9));
  s.max_ms = ms(latency.max());
  return s;
}

const char* reader_name(const LoadOptions& options) { return options.reader == ReaderKind::beast ? "beast" : "raw"; }

}  // namespace

LoadRunner::LoadRunner(const LoadOptions& options, LiveOutput& live)
    : options_(options),
      live_(live),
      signals_(control_loop_),
      tick_timer_(control_loop_),
      end_timer_(control_loop_),
      warm_up_timer_(control_loop_),
      self_sampler_(::getpid()) {}

LoadRunner::~LoadRunner() {
  for (auto& worker : workers_) worker->request_stop();
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

void LoadRunner::prepare() {
  setup_ = std::make_unique<RunSetup>(RunSetup{options_, {}, nullptr});
  tcp::resolver resolver(control_loop_);
  for (const TargetSpec& spec : options_.targets) {
    error_code ec;
    // Resolved once, before any thread starts: a run must not stall on DNS.
    auto results = resolver.resolve(spec.host, spec.port, ec);
    if (ec) throw std::runtime_error("cannot resolve " + spec.host + ":" + spec.port + ": " + ec.message());
    setup_->endpoints.push_back(std::move(results));
  }
  const bool any_tls = std::any_of(options_.targets.begin(), options_.targets.end(),
                                   [](const TargetSpec& t) { return t.tls; });
  if (any_tls) {
    tls_.emplace(wire::make_client_tls_context(wire::TlsClientOptions{!options_.insecure, options_.ca_file}));
    setup_->tls = &*tls_;
  }
  const auto planned = static_cast<std::int64_t>(options_.targets.size()) * options_.connections;
  control_ = std::make_unique<RunControl>(
      control_loop_, options_.max_messages, planned, [this] { finish(); },
      options_.alert_pct > 0 ? std::function<void(const AlertEvent&)>([this](const AlertEvent& e) { on_alert(e); })
                             : std::function<void(const AlertEvent&)>());
  for (int i = 0; i < options_.threads; ++i) {
    workers_.push_back(std::make_unique<LoadWorker>(static_cast<std::size_t>(i), *setup_, *control_));
  }
  // Connection i of every target opens at i * ramp / N; consecutive
  // connections go to consecutive threads so each thread gets its share of
  // every target.
  std::size_t next = 0;
  for (int i = 0; i < options_.connections; ++i) {
    const auto offset = wire::to_duration(options_.ramp_up_seconds * i / options_.connections);
    for (std::size_t t = 0; t < options_.targets.size(); ++t) {
      workers_[next++ % workers_.size()]->add_connection(t, offset);
    }
  }
  for (const TargetSpec& spec : options_.targets) {
    server_samplers_.emplace_back();
    if (spec.server_pid) server_samplers_.back().emplace(*spec.server_pid);
  }
  last_messages_.assign(options_.targets.size(), 0);
  last_latency_.resize(options_.targets.size());

  if (options_.metrics_port) {
    metrics_ = std::make_unique<LoadMetrics>(options_, workers_);
    metrics_server_ = std::make_unique<observe::MetricsServer>(
        control_loop_, tcp::endpoint(net::ip::make_address(options_.metrics_listen), *options_.metrics_port),
        [this] { return metrics_->collect(); },
        [this] {
          return finished_ ? std::pair<bool, std::string>{false, "run finished"}
                           : std::pair<bool, std::string>{true, ""};
        });
    metrics_server_->start();
  }
}

RunReport LoadRunner::run() {
  prepare();
  signals_.add(SIGINT);
  signals_.add(SIGTERM);
  signals_.async_wait([this](error_code ec, int) {
    if (!ec) control_->finish();
  });
  started_ = std::chrono::steady_clock::now();
  self_sampler_.sample(0);
  for (auto& sampler : server_samplers_) {
    if (sampler) sampler->sample(0);
  }
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    std::optional<int> cpu;
    if (!options_.cpus.empty()) cpu = options_.cpus[i % options_.cpus.size()];
    threads_.emplace_back([worker = workers_[i].get(), cpu] { worker->run(cpu); });
  }
  measured_from_ = started_;
  const auto warm_up = wire::to_duration(options_.warm_up_seconds);
  if (warm_up.count() > 0) {
    warm_up_timer_.expires_at(started_ + warm_up);
    warm_up_timer_.async_wait([this](error_code ec) {
      if (!ec && !finished_) end_warm_up();
    });
  }
  if (options_.duration_seconds > 0) {
    end_timer_.expires_at(started_ + warm_up + wire::to_duration(options_.duration_seconds));
    end_timer_.async_wait([this](error_code ec) {
      if (!ec) control_->finish();
    });
  }
  do_tick();
  control_loop_.run();
  for (auto& thread : threads_) thread.join();
  threads_.clear();
  live_.finish();
  return build_report();
}

double LoadRunner::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
}

void LoadRunner::do_tick() {
  tick_timer_.expires_at(started_ + kTick * (++ticks_));
  tick_timer_.async_wait([this](error_code ec) { on_tick(ec); });
}

void LoadRunner::on_tick(error_code ec) {
  if (ec || finished_) return;
  const double now = elapsed();
  self_sampler_.sample(now);
  for (auto& sampler : server_samplers_) {
    if (sampler) sampler->sample(now);
  }
  const double interval = std::max(now - last_tick_elapsed_, 1e-3);
  last_tick_elapsed_ = now;
  std::vector<LiveFigures> figures;
  for (std::size_t t = 0; t < options_.targets.size(); ++t) {
    LiveFigures f;
    f.impl = options_.targets[t].impl;
    f.connections_planned = static_cast<std::uint64_t>(options_.connections);
    std::uint64_t messages = 0;
    LatencyRecorder latency;
    for (const auto& worker : workers_) {
      const TargetTally& tally = worker->tally(t);
      messages += tally.messages.get();
      f.connections_up += tally.connections_up.get();
      f.errors += tally.connect_errors.get() + tally.drops.get();
      latency.merge_from(tally.latency);
    }
    f.messages_per_second = static_cast<double>(messages - last_messages_[t]) / interval;
    last_messages_[t] = messages;
    const LatencyRecorder second = latency.difference(last_latency_[t]);
    f.p50_ms = ms(second.value_at_percentile(50));
    f.p99_ms = ms(second.value_at_percentile(99));
    last_latency_[t] = std::move(latency);
    figures.push_back(std::move(f));
  }
  live_.status(now, figures);
  do_tick();
}

void LoadRunner::on_alert(const AlertEvent& event) {
  // Threads each see a crossing; the first report of it wins.
  bool& above = alerted_[{event.target, event.symbol}];
  if (event.above == above) return;
  above = event.above;
  if (!event.above) return;
  char line[256];
  std::snprintf(line, sizeof line, "alert: %s %+.2f %% (price %.8g)%s%s", event.symbol.c_str(), event.change_pct,
                event.price, options_.targets.size() > 1 ? " on " : "",
                options_.targets.size() > 1 ? options_.targets[event.target].impl.c_str() : "");
  live_.alert(line);
}

void LoadRunner::end_warm_up() {
  warmed_up_ = true;
  measured_from_ = std::chrono::steady_clock::now();
  for (auto& worker : workers_) worker->mark_warm_up_end();
  // CPU and memory from here on: fresh samplers, first sample now.
  const double now = elapsed();
  self_sampler_ = ProcSampler(self_sampler_.pid());
  self_sampler_.sample(now);
  for (auto& sampler : server_samplers_) {
    if (!sampler) continue;
    sampler.emplace(sampler->pid());
    sampler->sample(now);
  }
}

void LoadRunner::finish() {
  if (finished_) return;
  finished_ = true;
  ended_ = std::chrono::steady_clock::now();
  const double end = elapsed();
  self_sampler_.sample(end);
  for (auto& sampler : server_samplers_) {
    if (sampler) sampler->sample(end);
  }
  up_at_end_.assign(options_.targets.size(), 0);
  for (std::size_t t = 0; t < options_.targets.size(); ++t) {
    for (const auto& worker : workers_) up_at_end_[t] += worker->tally(t).connections_up.get();
  }
  tick_timer_.cancel();
  end_timer_.cancel();
  warm_up_timer_.cancel();
  // A second Ctrl-C during shutdown takes the default action and ends the
  // process at once.
  error_code ignored;
  signals_.clear(ignored);
  if (metrics_server_) metrics_server_->stop();
  for (auto& worker : workers_) worker->request_stop();
  control_loop_.stop();
}

RunReport LoadRunner::build_report() const {
  RunReport report;
  report.version = TICKRELAY_VERSION;
  report.duration_seconds = std::chrono::duration<double>(ended_ - measured_from_).count();
  report.warm_up_seconds = std::chrono::duration<double>(measured_from_ - started_).count();
  report.threads = options_.threads;
  report.reader = reader_name(options_);
  report.client = self_sampler_.figures();
  const double seconds = std::max(report.duration_seconds, 1e-9);
  for (std::size_t t = 0; t < options_.targets.size(); ++t) {
    const TargetSpec& spec = options_.targets[t];
    TargetReport r;
    r.impl = spec.impl;
    r.url = spec.url;
    r.connections = static_cast<std::uint64_t>(options_.connections);
    r.connections_up_end = t < up_at_end_.size() ? up_at_end_[t] : 0;
    LatencyRecorder latency;
    std::vector<SymbolState> symbols;
    bool first_slot = true;
    std::uint64_t slot_count = 0;
    for (const auto& worker : workers_) {
      const TargetTally& tally = worker->tally(t);
      // After a warm-up, only what came after it (a worker that never took
      // its snapshot had stopped before: everything it saw counts).
      static const TallySnapshot kNothing;
      const bool warm = warmed_up_ && t < worker->warm_up_end().size();
      const TallySnapshot& before = warm ? worker->warm_up_end()[t] : kNothing;
      for_each_count([](bool since_warm_up, std::uint64_t& sum, const RelaxedCounter& count,
                        std::uint64_t at_warm_up_end) { sum += count.get() - (since_warm_up ? at_warm_up_end : 0); },
                     r, tally, before);
      if (r.first_error.empty()) r.first_error = tally.first_error;
      if (warm) {
        latency.merge_from(tally.latency.difference(before.latency));
      } else {
        latency.merge_from(tally.latency);
      }
      merge_symbol_states(symbols, tally.symbols.states());
      for (std::size_t i = 0; i < tally.slots.size(); ++i) {
        const std::uint64_t earlier = i < before.slot_messages.size() ? before.slot_messages[i] : 0;
        const std::uint64_t messages = tally.slots[i].messages - earlier;
        r.per_connection_min = first_slot ? messages : std::min(r.per_connection_min, messages);
        r.per_connection_max = std::max(r.per_connection_max, messages);
        first_slot = false;
        ++slot_count;
      }
    }
    r.messages_per_second = static_cast<double>(r.messages) / seconds;
    r.megabytes_per_second = static_cast<double>(r.bytes) / seconds / 1e6;
    r.per_connection_avg = slot_count == 0 ? 0 : static_cast<double>(r.messages) / static_cast<double>(slot_count);
    r.per_connection_rate = r.per_connection_avg / seconds;
    r.per_connection_megabytes_per_second = slot_count == 0 ? 0
                                                            : r.megabytes_per_second / static_cast<double>(slot_count);
    r.latency = summarize(latency);
    r.server_pid = spec.server_pid;
    if (server_samplers_[t]) r.server = server_samplers_[t]->figures();
    r.top_movers = top_movers(std::move(symbols), options_.top_movers);
    report.targets.push_back(std::move(r));
  }
  return report;
}

}  // namespace tickrelay::client
