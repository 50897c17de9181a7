#include "proc_sampler.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include "process_runner.hpp"

namespace tickrelay::client {
namespace {

TEST(ProcSampler, ReadsAnotherProcessFromProc) {
  // A child that keeps a core busy: its CPU seconds must grow, and its
  // figures must be its own, not this test's.
  test::ChildProcess child({"/bin/sh", "-c", "while :; do :; done"});
  ProcSampler sampler(child.pid());
  ASSERT_TRUE(sampler.sample(0.0));
  ASSERT_TRUE(test::eventually([&] {
    sampler.sample(1.0);
    return sampler.last() && sampler.last()->cpu_seconds > 0.05;
  }));
  const ProcessFigures f = sampler.figures();
  EXPECT_TRUE(f.available);
  EXPECT_FALSE(f.exited);
  EXPECT_GT(f.cpu_seconds, 0.0);
  EXPECT_GT(f.cpu_percent, 0.0);
  EXPECT_GT(f.resident_peak, 0u);
  EXPECT_GT(f.resident_avg, 0.0);
  EXPECT_GE(f.samples, 2u);
  // /bin/sh is far smaller than this test binary.
  const auto self = observe::read_self_sample();
  ASSERT_TRUE(self);
  EXPECT_LT(f.resident_peak, self->resident_bytes);
}

TEST(ProcSampler, AveragesAndPeaksOverSamples) {
  ProcSampler sampler(::getpid());
  sampler.sample(0.0);
  std::vector<char> block(32 << 20, 1);  // touched, so resident
  sampler.sample(0.5);
  const ProcessFigures f = sampler.figures();
  EXPECT_EQ(f.samples, 2u);
  EXPECT_GE(f.resident_peak, static_cast<std::uint64_t>(f.resident_avg));
  EXPECT_GE(f.resident_peak, 30u << 20);
  EXPECT_EQ(block[100], 1);
}

TEST(ProcSampler, NotesWhenTheProcessExits) {
  test::ChildProcess child({"/bin/sleep", "30"});
  ProcSampler sampler(child.pid());
  ASSERT_TRUE(sampler.sample(0.0));
  child.stop();
  EXPECT_FALSE(sampler.sample(1.0));
  const ProcessFigures f = sampler.figures();
  EXPECT_TRUE(f.available);
  EXPECT_TRUE(f.exited);
}

TEST(ProcSampler, UnknownPidIsUnavailable) {
  ProcSampler sampler(0x3fffffff);
  EXPECT_FALSE(sampler.sample(0.0));
  EXPECT_FALSE(sampler.figures().available);
}

}  // namespace
}  // namespace tickrelay::client
