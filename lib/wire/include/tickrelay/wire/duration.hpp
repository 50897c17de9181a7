#pragma once
// Configs and options give times as seconds in a double; timers take
// steady_clock durations. One conversion, so rounding is the same everywhere.
#include <chrono>

namespace tickrelay::wire {

inline std::chrono::steady_clock::duration to_duration(double seconds) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
}

}  // namespace tickrelay::wire
