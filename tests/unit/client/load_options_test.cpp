#include "load_options.hpp"

#include <gtest/gtest.h>

#include "process_runner.hpp"

namespace tickrelay::client {
namespace {

ParseOutcome parse(std::vector<std::string> args) {
  args.insert(args.begin(), "tickrelay-load");
  return parse_load_options(args);
}

TEST(LoadOptions, DefaultsForOneUrl) {
  const auto outcome = parse({"--url", "ws://127.0.0.1:9000/ws/btcusdt@trade"});
  ASSERT_TRUE(outcome.options) << outcome.err;
  const LoadOptions& o = *outcome.options;
  ASSERT_EQ(o.targets.size(), 1u);
  EXPECT_EQ(o.targets[0].impl, "target1");
  EXPECT_EQ(o.connections, 1);
  EXPECT_EQ(o.threads, 1);
  EXPECT_DOUBLE_EQ(o.duration_seconds, 10);
  EXPECT_DOUBLE_EQ(o.warm_up_seconds, 0);
  EXPECT_EQ(o.format, OutputFormat::table);
  EXPECT_EQ(o.time_unit, TimeUnit::automatic);
  EXPECT_TRUE(o.kline_gaps);
  EXPECT_FALSE(o.metrics_port);
}

TEST(LoadOptions, EveryOption) {
  test::TempDir dir;
  const auto pairs = dir.write("pairs.txt", "BINANCE:BTCUSDT\nethusdt\n");
  const auto outcome = parse({"--url",
                              "ws://a:1",
                              "--impl",
                              "relay",
                              "--url",
                              "wss://b:2/stream",
                              "--impl",
                              "other",
                              "--symbols-file",
                              pairs,
                              "--template",
                              "{symbol}@aggTrade",
                              "-c",
                              "50",
                              "--ramp-up",
                              "2.5",
                              "-d",
                              "30",
                              "--messages",
                              "1000",
                              "--threads",
                              "2",
                              "--cpu",
                              "0,2-3",
                              "--reconnect",
                              "--server-pid",
                              "123",
                              "--server-pid",
                              "456",
                              "--format",
                              "json",
                              "--output",
                              dir.file("r.json"),
                              "--quiet",
                              "--alert-pct",
                              "3.5",
                              "--metrics-port",
                              "9200",
                              "--metrics-listen",
                              "0.0.0.0",
                              "--time-unit",
                              "us",
                              "--no-kline-gaps",
                              "--reader",
                              "beast",
                              "--insecure",
                              "--top",
                              "5"});
  ASSERT_TRUE(outcome.options) << outcome.err;
  const LoadOptions& o = *outcome.options;
  ASSERT_EQ(o.targets.size(), 2u);
  EXPECT_EQ(o.targets[0].impl, "relay");
  EXPECT_EQ(o.targets[1].impl, "other");
  EXPECT_EQ(o.targets[0].request_target, "/ws/btcusdt@aggTrade/ethusdt@aggTrade");
  EXPECT_EQ(o.targets[1].request_target, "/stream?streams=btcusdt@aggTrade/ethusdt@aggTrade");
  EXPECT_EQ(o.targets[0].server_pid, 123);
  EXPECT_EQ(o.targets[1].server_pid, 456);
  EXPECT_EQ(o.connections, 50);
  EXPECT_DOUBLE_EQ(o.ramp_up_seconds, 2.5);
  EXPECT_DOUBLE_EQ(o.duration_seconds, 30);
  EXPECT_EQ(o.max_messages, 1000u);
  EXPECT_EQ(o.threads, 2);
  EXPECT_EQ(o.cpus, (std::vector<int>{0, 2, 3}));
  EXPECT_TRUE(o.reconnect);
  EXPECT_EQ(o.format, OutputFormat::json);
  EXPECT_EQ(o.output_file, dir.file("r.json"));
  EXPECT_TRUE(o.quiet);
  EXPECT_DOUBLE_EQ(o.alert_pct, 3.5);
  EXPECT_EQ(o.metrics_port, 9200);
  EXPECT_EQ(o.metrics_listen, "0.0.0.0");
  EXPECT_EQ(o.time_unit, TimeUnit::microseconds);
  EXPECT_FALSE(o.kline_gaps);
  EXPECT_EQ(o.reader, ReaderKind::beast);
  EXPECT_TRUE(o.insecure);
  EXPECT_EQ(o.top_movers, 5u);
}

TEST(LoadOptions, ImplDefaultsPerPositionAndPidPairsInOrder) {
  const auto outcome = parse(
      {"--url", "ws://a:1/ws/x", "--url", "ws://b:1/ws/x", "--impl", "first", "--server-pid", "77"});
  ASSERT_TRUE(outcome.options) << outcome.err;
  EXPECT_EQ(outcome.options->targets[0].impl, "first");
  EXPECT_EQ(outcome.options->targets[1].impl, "target2");
  EXPECT_EQ(outcome.options->targets[0].server_pid, 77);
  EXPECT_FALSE(outcome.options->targets[1].server_pid);
}

TEST(LoadOptions, MessagesAloneRunsUntilTheCount) {
  const auto outcome = parse({"--url", "ws://a:1/ws/x", "--messages", "10"});
  ASSERT_TRUE(outcome.options);
  EXPECT_EQ(outcome.options->duration_seconds, 0);
  EXPECT_EQ(outcome.options->max_messages, 10u);
}

TEST(LoadOptions, WarmUpComesBeforeTheMeasuredDuration) {
  const auto outcome = parse({"--url", "ws://a:1/ws/x", "--warm-up", "3", "-d", "20"});
  ASSERT_TRUE(outcome.options) << outcome.err;
  EXPECT_DOUBLE_EQ(outcome.options->warm_up_seconds, 3);
  EXPECT_DOUBLE_EQ(outcome.options->duration_seconds, 20);
}

TEST(LoadOptions, SubscribeSendsStreamsAfterConnecting) {
  const auto outcome = parse({"--url", "ws://a:1", "--streams", "btcusdt@trade,ethusdt@trade", "--subscribe"});
  ASSERT_TRUE(outcome.options) << outcome.err;
  EXPECT_EQ(outcome.options->targets[0].request_target, "/ws");
  EXPECT_EQ(outcome.options->targets[0].subscribe.size(), 2u);
}

TEST(LoadOptions, HelpAndVersionExitZero) {
  const auto help = parse({"--help"});
  EXPECT_FALSE(help.options);
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--connections"), std::string::npos);
  EXPECT_NE(help.out.find("--server-pid"), std::string::npos);
  const auto version = parse({"--version"});
  EXPECT_FALSE(version.options);
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_NE(version.out.find(TICKRELAY_VERSION), std::string::npos);
}

TEST(LoadOptions, BadArgumentsAreUsageErrorsWithExitCode2) {
  const std::vector<std::vector<std::string>> bad = {
      {},                                                      // no --url
      {"--url"},                                               // missing value
      {"--url", "http://a/ws/x"},                              // wrong scheme
      {"--url", "ws://a/ws/x", "-c", "0"},                     // no connections
      {"--url", "ws://a/ws/x", "-c", "many"},                  // not a number
      {"--url", "ws://a/ws/x", "--format", "xml"},             // unknown format
      {"--url", "ws://a/ws/x", "--impl", "a", "--impl", "b"},  // more labels than URLs
      {"--url", "ws://a/ws/x", "--server-pid", "1", "--server-pid", "2"},
      {"--url", "ws://a/ws/x", "--streams", "b@trade"},       // streams twice
      {"--url", "ws://a", "--subscribe"},                     // nothing to subscribe
      {"--url", "ws://a", "--symbols-file", "/nonexistent"},  // unreadable file
      {"--url", "ws://a", "--cpu", "x"},
      {"--url", "ws://a", "--cpu", "3-1"},
      {"--url", "ws://a", "--time-unit", "s"},
      {"--url", "ws://a", "--metrics-port", "70000"},
      {"--url", "ws://a", "--metrics-port", "9000", "--metrics-listen", "localhost:1"},
      {"--url", "ws://a", "--threads", "0"},
      {"--url", "ws://a", "-d", "-5"},
      {"--url", "ws://a", "--warm-up", "-1"},
      {"--url", "ws://a", "--warm-up", "1", "--messages", "10"},  // the count would include the warm-up
      {"--url", "ws://a", "--bogus"},
  };
  for (const auto& args : bad) {
    const auto outcome = parse(args);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    EXPECT_FALSE(outcome.options) << joined;
    EXPECT_EQ(outcome.exit_code, 2) << joined;
    EXPECT_NE(outcome.err.find("tickrelay-load: "), std::string::npos) << joined;
    EXPECT_NE(outcome.err.find("--help"), std::string::npos) << joined;
  }
}

TEST(LoadOptions, CpuList) {
  EXPECT_EQ(parse_cpu_list("1"), (std::vector<int>{1}));
  EXPECT_EQ(parse_cpu_list("0-2,5"), (std::vector<int>{0, 1, 2, 5}));
  EXPECT_THROW(parse_cpu_list(""), std::invalid_argument);
  EXPECT_THROW(parse_cpu_list("1-"), std::invalid_argument);
  EXPECT_THROW(parse_cpu_list("-1"), std::invalid_argument);
}

}  // namespace
}  // namespace tickrelay::client
