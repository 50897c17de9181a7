#include "proc_sampler.hpp"

#include <algorithm>

namespace tickrelay::client {

bool ProcSampler::sample(double elapsed_seconds) {
  const auto reading = observe::read_process_sample(pid_);
  if (!reading) {
    exited_ = exited_ || samples_ > 0;
    return false;
  }
  if (!first_) {
    first_ = reading;
    first_time_ = elapsed_seconds;
  }
  last_ = reading;
  last_time_ = elapsed_seconds;
  resident_sum_ += static_cast<double>(reading->resident_bytes);
  resident_peak_ = std::max(resident_peak_, reading->resident_bytes);
  ++samples_;
  return true;
}

ProcessFigures ProcSampler::figures() const {
  ProcessFigures f;
  if (!first_) {
    f.exited = exited_;
    return f;
  }
  f.available = true;
  f.exited = exited_;
  f.samples = samples_;
  f.cpu_seconds = last_->cpu_seconds - first_->cpu_seconds;
  const double wall = last_time_ - first_time_;
  f.cpu_percent = wall > 0 ? f.cpu_seconds / wall * 100.0 : 0.0;
  f.resident_avg = resident_sum_ / static_cast<double>(samples_);
  f.resident_peak = resident_peak_;
  f.resident_last = last_->resident_bytes;
  f.cpu_seconds_total = last_->cpu_seconds;
  return f;
}

}  // namespace tickrelay::client
