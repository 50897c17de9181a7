#include "load_metrics.hpp"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>
#include <unistd.h>

#include "load_worker.hpp"
#include "process_runner.hpp"

namespace tickrelay::client {
namespace {

TEST(LoadMetrics, FamiliesCarryImplAndTargetLabels) {
  test::ChildProcess server({"/bin/sleep", "30"});
  auto parsed = parse_load_options({"tickrelay-load", "--url", "ws://127.0.0.1:9/ws/a@trade", "--impl", "relay",
                                    "--server-pid", std::to_string(server.pid()), "--url",
                                    "ws://127.0.0.1:8/ws/a@trade"});
  ASSERT_TRUE(parsed.options) << parsed.err;
  const LoadOptions options = *parsed.options;
  net::io_context loop;
  RunSetup setup{options, {}, nullptr};
  RunControl control(loop, 0, 2, [] {}, {});
  std::vector<std::unique_ptr<LoadWorker>> workers;
  workers.push_back(std::make_unique<LoadWorker>(0, setup, control));
  workers[0]->add_connection(0, std::chrono::nanoseconds(0));
  workers[0]->add_connection(1, std::chrono::nanoseconds(0));
  const std::int64_t now = LoadWorker::now_ns();
  const std::string msg = R"({"e":"trade","E":)" + std::to_string(now / 1000 - 2000) + R"(,"s":"A","t":1,"p":"1"})";
  workers[0]->on_message_copy(0, workers[0]->slot(0, 0), msg, now);
  workers[0]->on_up(0, 0);

  const LoadMetrics metrics(options, workers);
  const std::string text = prometheus::TextSerializer().Serialize(metrics.collect());
  const std::string relay = R"(impl="relay",target="ws://127.0.0.1:9/ws/a@trade")";
  for (const std::string& line :
       {"tickrelay_load_messages_total{" + relay + "} 1",
        "tickrelay_load_bytes_total{" + relay + "} " + std::to_string(msg.size()),
        "tickrelay_load_connections{" + relay + "} 1", "tickrelay_load_errors_total{" + relay + "} 0",
        "tickrelay_load_reconnects_total{" + relay + "} 0", "tickrelay_load_gaps_total{" + relay + "} 0",
        "tickrelay_load_latency_seconds_bucket{" + relay + R"(,le="1e-05"} 0)",
        "tickrelay_load_latency_seconds_bucket{" + relay + R"(,le="0.0025"} 1)",
        "tickrelay_load_latency_seconds_bucket{" + relay + R"(,le="10"} 1)",
        "tickrelay_load_latency_seconds_count{" + relay + "} 1",
        std::string(R"(tickrelay_load_messages_total{impl="target2",target="ws://127.0.0.1:8/ws/a@trade"} 0)")}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
  }
  for (const char* family :
       {"# TYPE tickrelay_load_cpu_seconds_total counter", "# TYPE tickrelay_load_resident_memory_bytes gauge",
        "# TYPE tickrelay_load_server_cpu_seconds_total counter",
        "# TYPE tickrelay_load_server_resident_memory_bytes gauge",
        "# TYPE tickrelay_load_latency_seconds histogram"}) {
    EXPECT_NE(text.find(family), std::string::npos) << family;
  }
  EXPECT_NE(text.find("tickrelay_load_server_resident_memory_bytes{" + relay + "}"), std::string::npos);
  // Only the first target names a server pid.
  EXPECT_EQ(text.find(R"(tickrelay_load_server_cpu_seconds_total{impl="target2")"), std::string::npos);
}

}  // namespace
}  // namespace tickrelay::client
