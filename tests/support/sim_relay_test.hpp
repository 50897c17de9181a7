#pragma once
// A test fixture with the real simulator feeding a real tickrelayd on
// loopback, the shape most integration tests start from.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "process_runner.hpp"
#include "programs.hpp"

namespace tickrelay::test {

class SimRelayTest : public ::testing::Test {
 protected:
  // The simulator with `sim_args` over `symbols` (comma-separated), and the
  // relay carrying `streams` from it with `server_extra` in its server block.
  void start_sim_and_relay(const std::string& symbols, std::vector<std::string> sim_args,
                           const std::vector<std::string>& streams, const std::string& server_extra) {
    sim_args.insert(sim_args.end(), {"--symbols", symbols});
    sim_ = start_sim(sim_args);
    relay_ = start_relay(dir_, sim_upstream(sim_, streams), server_extra);
  }

  TempDir dir_;
  Sim sim_;
  Relay relay_;
};

}  // namespace tickrelay::test
