#include "run_control.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace tickrelay::client {
namespace {

TEST(RunControl, BudgetIsExactAcrossThreads) {
  net::io_context loop;
  int finishes = 0;
  RunControl control(loop, 10'000, 1, [&] { ++finishes; }, {});
  std::atomic<std::uint64_t> taken{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5000; ++i) {
        if (control.take_message()) ++taken;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(taken.load(), 10'000u);
  EXPECT_TRUE(control.stopping());
  loop.poll();
  EXPECT_EQ(finishes, 1);
}

TEST(RunControl, NoBudgetMeansNoLimit) {
  net::io_context loop;
  RunControl control(loop, 0, 1, [] {}, {});
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(control.take_message());
  EXPECT_FALSE(control.stopping());
}

TEST(RunControl, FinishesWhenTheLastConnectionGivesUp) {
  net::io_context loop;
  int finishes = 0;
  RunControl control(loop, 0, 3, [&] { ++finishes; }, {});
  control.connection_gone();
  control.connection_gone();
  loop.poll();
  EXPECT_EQ(finishes, 0);
  control.connection_gone();
  control.finish();  // a second reason to stop changes nothing
  loop.restart();
  loop.poll();
  EXPECT_EQ(finishes, 1);
}

}  // namespace
}  // namespace tickrelay::client
