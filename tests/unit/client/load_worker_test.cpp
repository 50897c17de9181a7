#include "load_worker.hpp"

#include <gtest/gtest.h>

#include <string>

#include "load_options.hpp"

namespace tickrelay::client {
namespace {

// The worker's per-message path without sockets: what a session hands over,
// and what lands in the tally.
class LoadWorkerTest : public ::testing::Test {
 protected:
  void make(std::vector<std::string> extra = {}, const std::string& url = "ws://127.0.0.1:9/ws/x") {
    std::vector<std::string> args{"tickrelay-load", "--url", url};
    args.insert(args.end(), extra.begin(), extra.end());
    auto parsed = parse_load_options(args);
    ASSERT_TRUE(parsed.options) << parsed.err;
    options_ = *parsed.options;
    setup_ = std::make_unique<RunSetup>(RunSetup{options_, {}, nullptr});
    control_ = std::make_unique<RunControl>(
        loop_, options_.max_messages, 1, [this] { ++finishes_; },
        [this](const AlertEvent& e) { alerts_.push_back(e); });
    worker_ = std::make_unique<LoadWorker>(0, *setup_, *control_);
    worker_->add_connection(0, std::chrono::nanoseconds(0));
  }

  bool deliver(const std::string& message, std::int64_t now_ns) {
    return worker_->on_message_copy(0, worker_->slot(0, 0), message, now_ns);
  }

  const TargetTally& tally() { return worker_->tally(0); }

  static std::string trade(std::uint64_t id, std::uint64_t e, const char* symbol = "BTCUSDT", double price = 100) {
    return R"({"e":"trade","E":)" + std::to_string(e) + R"(,"s":")" + symbol + R"(","t":)" + std::to_string(id) +
           R"(,"p":")" + std::to_string(price) + R"("})";
  }

  LoadOptions options_;
  net::io_context loop_;
  std::unique_ptr<RunSetup> setup_;
  std::unique_ptr<RunControl> control_;
  std::unique_ptr<LoadWorker> worker_;
  int finishes_ = 0;
  std::vector<AlertEvent> alerts_;
};

constexpr std::int64_t kNowNs = 1'700'000'000'000'000'000;  // 2023-11-14 in ns
constexpr std::uint64_t kNowUs = 1'700'000'000'000'000;
constexpr std::uint64_t kNowMs = 1'700'000'000'000;

TEST_F(LoadWorkerTest, CountsMarketControlAndMalformedApart) {
  make();
  EXPECT_TRUE(deliver(R"({"result":null,"id":1})", kNowNs));
  EXPECT_TRUE(deliver("garbage", kNowNs));
  EXPECT_TRUE(deliver(trade(1, kNowUs), kNowNs));
  EXPECT_EQ(tally().messages.get(), 1u);
  EXPECT_EQ(tally().control_messages.get(), 1u);
  EXPECT_EQ(tally().malformed.get(), 1u);
  EXPECT_EQ(tally().bytes.get(), trade(1, kNowUs).size());
  EXPECT_EQ(worker_->slot(0, 0).messages, 1u);
}

TEST_F(LoadWorkerTest, MicrosecondEventTimesByMagnitude) {
  make();
  deliver(trade(1, kNowUs - 250), kNowNs);  // 250 µs ago
  EXPECT_EQ(tally().latency.count(), 1u);
  EXPECT_NEAR(double(tally().latency.max()), 250'000.0, 1.0);
  EXPECT_EQ(tally().millisecond_times.get(), 0u);
}

TEST_F(LoadWorkerTest, MillisecondEventTimesAreNoted) {
  make();
  deliver(trade(1, kNowMs - 3), kNowNs);  // 3 ms ago
  EXPECT_NEAR(double(tally().latency.max()), 3'000'000.0, 1.0);
  EXPECT_EQ(tally().millisecond_times.get(), 1u);
}

TEST_F(LoadWorkerTest, UrlTimeUnitAndOverride) {
  // The URL asks for microseconds: even a small E is read as µs.
  make({}, "ws://127.0.0.1:9/ws/x?timeUnit=MICROSECOND");
  deliver(trade(1, 5000), 6'000'000);  // E = 5 ms in µs, now = 6 ms
  EXPECT_NEAR(double(tally().latency.max()), 1'000'000.0, 1.0);

  make({"--time-unit", "ms"});
  deliver(trade(1, kNowMs - 2), kNowNs);
  EXPECT_NEAR(double(tally().latency.max()), 2'000'000.0, 1.0);
}

TEST_F(LoadWorkerTest, FutureEventTimesCountAsSkewAndRecordZero) {
  make();
  deliver(trade(1, kNowUs + 1000), kNowNs);
  EXPECT_EQ(tally().negative_latency.get(), 1u);
  EXPECT_EQ(tally().latency.max(), 0u);
}

TEST_F(LoadWorkerTest, MessagesWithoutEventTimeAreCountedButNotTimed) {
  make();
  deliver(R"({"u":1,"s":"BNBUSDT","b":"1.0","B":"1","a":"2.0","A":"1"})", kNowNs);
  EXPECT_EQ(tally().messages.get(), 1u);
  EXPECT_EQ(tally().without_event_time.get(), 1u);
  EXPECT_EQ(tally().latency.count(), 0u);
}

TEST_F(LoadWorkerTest, GapsAndDuplicatesPerStream) {
  make();
  for (std::uint64_t id : {1, 2, 5, 6, 6, 7}) deliver(trade(id, kNowUs), kNowNs);
  for (std::uint64_t id : {10, 11, 12}) deliver(trade(id, kNowUs, "ETHUSDT"), kNowNs);
  EXPECT_EQ(tally().lost.get(), 2u);  // 3 and 4
  EXPECT_EQ(tally().duplicates.get(), 1u);
  EXPECT_EQ(tally().messages.get(), 9u);
}

TEST_F(LoadWorkerTest, KlineGapsCanBeTurnedOff) {
  const std::string k1 = R"({"e":"kline","E":1700000000000000,"s":"X","k":{"i":"1m","L":5,"o":"1","c":"2"}})";
  const std::string k2 = R"({"e":"kline","E":1700000000000001,"s":"X","k":{"i":"1m","L":9,"o":"1","c":"2"}})";
  make();
  deliver(k1, kNowNs);
  deliver(k2, kNowNs);
  EXPECT_EQ(tally().lost.get(), 3u);
  make({"--no-kline-gaps"});
  deliver(k1, kNowNs);
  deliver(k2, kNowNs);
  EXPECT_EQ(tally().lost.get(), 0u);
}

TEST_F(LoadWorkerTest, KlineIntervalsAreSeparateStreams) {
  make();
  deliver(R"({"e":"kline","E":1,"s":"X","k":{"i":"1m","L":5,"o":"1","c":"2"}})", kNowNs);
  deliver(R"({"e":"kline","E":1,"s":"X","k":{"i":"1h","L":100,"o":"1","c":"2"}})", kNowNs);
  deliver(R"({"e":"kline","E":1,"s":"X","k":{"i":"1m","L":6,"o":"1","c":"2"}})", kNowNs);
  EXPECT_EQ(tally().lost.get(), 0u);
  EXPECT_EQ(tally().duplicates.get(), 0u);
}

TEST_F(LoadWorkerTest, MessageBudgetStopsExactly) {
  make({"--messages", "3"});
  EXPECT_TRUE(deliver(trade(1, kNowUs), kNowNs));
  EXPECT_TRUE(deliver(trade(2, kNowUs), kNowNs));
  EXPECT_TRUE(deliver(trade(3, kNowUs), kNowNs));
  EXPECT_TRUE(control_->stopping());
  EXPECT_FALSE(deliver(trade(4, kNowUs), kNowNs));
  EXPECT_EQ(tally().messages.get(), 3u);
  loop_.poll();
  EXPECT_EQ(finishes_, 1);
}

TEST_F(LoadWorkerTest, AlertsReachTheControlLoop) {
  make({"--alert-pct", "5"});
  deliver(trade(1, kNowUs, "BTCUSDT", 100), kNowNs);
  deliver(trade(2, kNowUs + 1, "BTCUSDT", 106), kNowNs);
  deliver(trade(3, kNowUs + 2, "BTCUSDT", 107), kNowNs);
  loop_.poll();
  ASSERT_EQ(alerts_.size(), 1u);
  EXPECT_EQ(alerts_[0].symbol, "BTCUSDT");
  EXPECT_TRUE(alerts_[0].above);
  EXPECT_NEAR(alerts_[0].change_pct, 6.0, 1e-9);
}

TEST_F(LoadWorkerTest, UpDownAndReconnectAccounting) {
  make();
  worker_->on_up(0, 0);
  EXPECT_EQ(tally().connections_up.get(), 1u);
  worker_->on_down(0, 0, true, "read: End of file");
  EXPECT_EQ(tally().connections_up.get(), 0u);
  EXPECT_EQ(tally().drops.get(), 1u);
  EXPECT_EQ(tally().first_error, "read: End of file");
  loop_.poll();
  EXPECT_EQ(finishes_, 1);  // its only connection gave up: nothing left to measure
}

}  // namespace
}  // namespace tickrelay::client
