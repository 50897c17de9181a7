#pragma once
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/signal_set.hpp>

#include "latency_recorder.hpp"
#include "live_output.hpp"
#include "load_options.hpp"
#include "proc_sampler.hpp"
#include "report.hpp"
#include "run_control.hpp"
#include "run_setup.hpp"
#include "tickrelay/wire/asio.hpp"

namespace tickrelay::observe {
class MetricsServer;
}

namespace tickrelay::client {

class LoadWorker;
class LoadMetrics;

// Runs one measurement: resolves the targets, starts the worker threads,
// and from its own control loop (the calling thread) samples /proc, prints
// the live line, serves /metrics, watches duration, --messages and signals;
// then stops the workers and sums up.
class LoadRunner {
 public:
  LoadRunner(const LoadOptions& options, LiveOutput& live);
  ~LoadRunner();
  LoadRunner(const LoadRunner&) = delete;
  LoadRunner& operator=(const LoadRunner&) = delete;

  // Throws std::runtime_error when the run cannot start (unresolvable host,
  // bad CA file, metrics port taken).
  RunReport run();

 private:
  void prepare();
  void do_tick();
  void on_tick(error_code ec);
  void on_alert(const AlertEvent& event);
  void end_warm_up();
  void finish();
  double elapsed() const;
  RunReport build_report() const;

  const LoadOptions& options_;
  LiveOutput& live_;
  net::io_context control_loop_{1};
  std::optional<ssl::context> tls_;
  std::unique_ptr<RunSetup> setup_;
  std::unique_ptr<RunControl> control_;
  std::vector<std::unique_ptr<LoadWorker>> workers_;
  std::vector<std::thread> threads_;
  std::unique_ptr<LoadMetrics> metrics_;
  std::unique_ptr<observe::MetricsServer> metrics_server_;
  net::signal_set signals_;
  net::steady_timer tick_timer_;
  net::steady_timer end_timer_;
  net::steady_timer warm_up_timer_;
  std::chrono::steady_clock::time_point started_;
  // Where the report's figures start: started_, or the end of --warm-up.
  std::chrono::steady_clock::time_point measured_from_;
  bool warmed_up_ = false;
  std::chrono::steady_clock::time_point ended_;
  unsigned ticks_ = 0;
  bool finished_ = false;
  ProcSampler self_sampler_;
  std::vector<std::optional<ProcSampler>> server_samplers_;  // per target
  // The live line's previous second, per target.
  std::vector<std::uint64_t> last_messages_;
  std::vector<std::uint64_t> up_at_end_;  // per target, taken before the workers close
  std::vector<LatencyRecorder> last_latency_;
  double last_tick_elapsed_ = 0;
  std::map<std::pair<std::size_t, std::string>, bool> alerted_;
};

}  // namespace tickrelay::client
