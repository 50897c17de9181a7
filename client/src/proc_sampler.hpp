#pragma once
#include <sys/types.h>

#include <cstdint>
#include <optional>

#include "tickrelay/observe/process_stats.hpp"

namespace tickrelay::client {

// Summary of one process's CPU and memory over the run.
struct ProcessFigures {
  bool available = false;   // at least one sample was read
  bool exited = false;      // the process went away during the run
  double cpu_percent = 0;   // average over the run, % of one core
  double cpu_seconds = 0;   // used during the run
  double resident_avg = 0;  // bytes, mean of the samples
  std::uint64_t resident_peak = 0;
  std::uint64_t resident_last = 0;
  double cpu_seconds_total = 0;  // the process's whole lifetime, as /proc says
  std::uint64_t samples = 0;
};

// Samples /proc/<pid> (the load client itself or the server it measures),
// once a second from the control loop and at the start and end of the run:
// that process's figures only, never the system's.
class ProcSampler {
 public:
  explicit ProcSampler(pid_t pid) : pid_(pid) {}

  // Reads /proc now; `elapsed_seconds` is the caller's clock since the run
  // started. Returns false once the process is gone.
  bool sample(double elapsed_seconds);
  ProcessFigures figures() const;
  pid_t pid() const { return pid_; }
  std::optional<observe::ProcessSample> last() const { return last_; }

 private:
  pid_t pid_;
  std::optional<observe::ProcessSample> first_;
  std::optional<observe::ProcessSample> last_;
  double first_time_ = 0;
  double last_time_ = 0;
  double resident_sum_ = 0;
  std::uint64_t resident_peak_ = 0;
  std::uint64_t samples_ = 0;
  bool exited_ = false;
};

}  // namespace tickrelay::client
