// A program written for Binance works against the relay by changing only its
// base URL: Binance's own JavaScript connector and the compatibility matrix
// (ccxt, binance, binance-api-node; tests/js/package-lock.json pins them),
// from npm, against the relay and against the simulator.
#include <gtest/gtest.h>

#include <filesystem>

#include "process_runner.hpp"
#include "programs.hpp"

namespace tickrelay::test {
namespace {

const std::string kJsDir = std::string(TICKRELAY_SOURCE_DIR) + "/tests/js";

// The libraries come from the lock file; fetched once if one is missing.
void ensure_node_modules() {
  bool all = true;
  for (const char* lib : {"@binance/connector", "ccxt", "binance", "binance-api-node"}) {
    all = all && std::filesystem::exists(kJsDir + "/node_modules/" + lib + "/package.json");
  }
  if (all) return;
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

// One relay per product, as Binance has one host per product; both read the
// one simulator, which serves spot at its root and USD-M under /market and
// /public.
class ClientMatrix : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ensure_node_modules(); }
  void SetUp() override {
    sim_ = start_sim({"--rate", "600", "--symbols", "btcusdt,ethusdt"});
    spot_ = start_relay(dir_, entry("spot", "spot",
                                    {"btcusdt@trade", "btcusdt@kline_1m", "btcusdt@bookTicker", "btcusdt@miniTicker",
                                     "btcusdt@depth@100ms"}));
    usdm_ = start_relay(dir_, entry("usdm", "usdm-futures",
                                    {"btcusdt@trade", "btcusdt@aggTrade", "btcusdt@kline_1m", "btcusdt@bookTicker",
                                     "btcusdt@miniTicker", "btcusdt@depth@100ms"}));
  }
  std::string entry(const std::string& name, const std::string& product, const std::vector<std::string>& streams) {
    // The order books' snapshots come from the simulator's REST paths.
    std::string yaml = "upstreams:\n  - name: " + name + "\n    url: " + sim_.url() + "\n    product: " + product +
                       "\n    rest_url: http://127.0.0.1:" + std::to_string(sim_.port) + "\n    streams: [";
    for (std::size_t i = 0; i < streams.size(); ++i) yaml += (i ? ", \"" : "\"") + streams[i] + "\"";
    return yaml + "]\n";
  }
  // Runs tests/js/<script> with the two base URLs; every cell must pass.
  static void expect_every_cell(const std::string& script, const std::string& spot, const std::string& usdm) {
    ChildProcess node({"/usr/bin/node", kJsDir + "/" + script, spot, usdm});
    EXPECT_EQ(node.wait(std::chrono::seconds(90)), 0) << script << " " << spot << " " << usdm << ": " << node.output();
    const auto out = node.output();
    EXPECT_NE(out.find("\"errors\":[]"), std::string::npos) << out;
    EXPECT_NE(out.find("\"cells\":{\""), std::string::npos) << out;
  }
  std::string relay_url(const Relay& r) const { return "ws://127.0.0.1:" + std::to_string(r.client_port); }

  TempDir dir_;
  Sim sim_;
  Relay spot_;
  Relay usdm_;
};

// ccxt pro: /ws/<n> then SUBSCRIBE; USD-M trades on /public, the rest on
// /market; watchTrades, watchOHLCV, watchTicker (miniTicker) and
// watchOrderBook (the REST depth snapshot from the relay, then its diffs).
TEST_F(ClientMatrix, CcxtProWatchesSpotAndUsdmThroughTheRelay) {
  expect_every_cell("ccxt_client.js", relay_url(spot_), relay_url(usdm_));
}

// binance (WebsocketClient): bare /stream, /market/stream and
// /public/stream, then one SUBSCRIBE for all topics; pings every 10 s.
TEST_F(ClientMatrix, BinanceWebsocketClientStreamsSpotAndUsdmThroughTheRelay) {
  expect_every_cell("binance_client.js", relay_url(spot_), relay_url(usdm_));
}

// binance-api-node: one stream named in each path.
TEST_F(ClientMatrix, BinanceApiNodeStreamsSpotAndUsdmThroughTheRelay) {
  expect_every_cell("binance_api_node_client.js", relay_url(spot_), relay_url(usdm_));
}

// The same matrix against the simulator itself: what the relay is tested
// against behaves as Binance does for these clients too.
TEST_F(ClientMatrix, SimulatorPassesTheSameMatrix) {
  for (const char* script : {"ccxt_client.js", "binance_client.js", "binance_api_node_client.js"}) {
    expect_every_cell(script, sim_.url(), sim_.url());
  }
}

}  // namespace
}  // namespace tickrelay::test
