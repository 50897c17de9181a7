// A program written for Binance works against the relay by changing only its
// base URL: Binance's own JavaScript connector, from npm, against the relay.
#include <gtest/gtest.h>

#include <filesystem>

#include "process_runner.hpp"
#include "programs.hpp"

namespace tickrelay::test {
namespace {

const std::string kJsDir = std::string(TICKRELAY_SOURCE_DIR) + "/tests/js";

// The connector comes from the lock file; fetched once if missing.
void ensure_node_modules() {
  if (std::filesystem::exists(kJsDir + "/node_modules/@binance/connector/package.json")) return;
  ChildProcess npm({"/usr/bin/npm", "--prefix", kJsDir, "ci", "--no-audit", "--no-fund", "--fetch-retries=1"});
  const auto code = npm.wait(std::chrono::seconds(180));
  ASSERT_EQ(code, 0) << "npm ci failed: " << npm.output();
}

TEST(BinanceClient, OfficialConnectorReceivesRawAndCombinedStreamsFromTheRelay) {
  ensure_node_modules();
  TempDir dir;
  const auto sim = start_sim({"--rate", "500", "--symbols", "btcusdt,ethusdt"});
  // The connector subscribes live a second time on an open connection; its
  // own pace is not Binance's 5 a second guarantee, so the limit stays.
  const auto relay = start_relay(dir, sim_upstream(sim, {"btcusdt@aggTrade", "ethusdt@aggTrade", "ethusdt@kline_1h"}));
  ChildProcess node({"/usr/bin/node", kJsDir + "/binance_connector_client.js",
                     "ws://127.0.0.1:" + std::to_string(relay.client_port)});
  EXPECT_EQ(node.wait(std::chrono::seconds(60)), 0) << node.output();
  const auto out = node.output();
  EXPECT_NE(out.find("\"errors\":[]"), std::string::npos) << out;
  EXPECT_NE(out.find("\"ethusdt@kline_1h\""), std::string::npos) << out;
}

}  // namespace
}  // namespace tickrelay::test
