#pragma once
// The simulator's one random source: SplitMix64, small, fast and the same on
// every platform, so a seed reproduces a run anywhere.
#include <cstdint>

namespace tickrelay::sim {

inline std::uint64_t splitmix(std::uint64_t& state) {
  state += 0x9E3779B97F4A7C15ULL;
  std::uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Uniform in [0, 1).
inline double unit_interval(std::uint64_t& state) { return static_cast<double>(splitmix(state) >> 11) * 0x1.0p-53; }

}  // namespace tickrelay::sim
