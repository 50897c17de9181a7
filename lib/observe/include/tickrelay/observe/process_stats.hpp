#pragma once
#include <sys/types.h>
#include <cstdint>
#include <optional>

namespace tickrelay::observe {

// One reading of a process's own resource use, taken from /proc/<pid>. This is
// what the relay exports about itself and what tickrelay-load samples about the
// server it measures: the process's figures, never the whole system's.
struct ProcessSample {
  double cpu_seconds = 0;  // user + system time, all threads
  std::uint64_t resident_bytes = 0;
  std::uint64_t virtual_bytes = 0;
  std::uint64_t open_fds = 0;
  std::uint64_t threads = 0;
  double start_time_seconds = 0;  // since the Unix epoch
};

// Reads /proc/<pid>; nullopt when the process is gone or /proc is unreadable.
// Takes a few system calls and no allocation beyond the fd directory walk.
std::optional<ProcessSample> read_process_sample(pid_t pid);

// The same for this process.
std::optional<ProcessSample> read_self_sample();

}  // namespace tickrelay::observe
