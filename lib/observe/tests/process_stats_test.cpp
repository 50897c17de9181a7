#include "tickrelay/observe/process_stats.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <vector>

#include "process_runner.hpp"

namespace tickrelay::observe {
namespace {

TEST(ProcessStats, SelfSampleReportsThisProcess) {
  const auto sample = read_self_sample();
  ASSERT_TRUE(sample.has_value());
  EXPECT_GT(sample->resident_bytes, 1u << 20);
  EXPECT_GE(sample->virtual_bytes, sample->resident_bytes);
  EXPECT_GE(sample->open_fds, 3u);  // stdin, stdout, stderr at least
  EXPECT_GE(sample->threads, 1u);
  EXPECT_GT(sample->start_time_seconds, 1.6e9);
}

TEST(ProcessStats, ResidentMemoryFollowsTouchedPages) {
  const auto before = read_self_sample();
  std::vector<char> block(64 << 20, 1);  // touched: counts as resident
  const auto after = read_self_sample();
  ASSERT_TRUE(before && after);
  EXPECT_GE(after->resident_bytes, before->resident_bytes + (60u << 20));
  EXPECT_EQ(block[12345], 1);
}

TEST(ProcessStats, CpuSecondsGrowWithWork) {
  const auto before = read_self_sample();
  volatile unsigned long sink = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  while (std::chrono::steady_clock::now() < deadline) {
    for (int i = 0; i < 10000; ++i) sink = sink + static_cast<unsigned long>(i);
  }
  const auto after = read_self_sample();
  ASSERT_TRUE(before && after);
  EXPECT_GT(after->cpu_seconds, before->cpu_seconds);
}

TEST(ProcessStats, ReadsAnotherProcessAndReportsItsExit) {
  test::ChildProcess child({"/bin/sleep", "30"});
  const auto sample = read_process_sample(child.pid());
  ASSERT_TRUE(sample.has_value());
  EXPECT_EQ(sample->threads, 1u);
  child.stop();
  EXPECT_FALSE(read_process_sample(child.pid()).has_value());
}

}  // namespace
}  // namespace tickrelay::observe
