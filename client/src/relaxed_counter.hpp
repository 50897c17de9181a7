#pragma once
#include <atomic>
#include <cstdint>

namespace tickrelay::client {

// A counter written by one thread and read by others (scrape, live line).
// The writer does a relaxed load and store, not an atomic read-modify-write:
// on x86 that is a plain add, so the hot path pays nothing for the sharing.
class RelaxedCounter {
 public:
  void add(std::uint64_t n = 1) { value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  void sub(std::uint64_t n = 1) { value_.store(value_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed); }
  std::uint64_t get() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

}  // namespace tickrelay::client
