#include "sim_options.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "process_runner.hpp"

namespace tickrelay::sim {
namespace {

using std::chrono::seconds;

SimOptionsResult parse(std::vector<std::string> args) {
  args.insert(args.begin(), "tickrelay-sim");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return parse_sim_options(static_cast<int>(argv.size()), argv.data());
}

SimOptions parse_ok(std::vector<std::string> args) {
  auto result = parse(std::move(args));
  EXPECT_TRUE(result.options) << result.message;
  return result.options.value_or(SimOptions{});
}

// A usage error: exit code 2 and a message containing `expected`.
void expect_usage_error(std::vector<std::string> args, const std::string& expected) {
  const auto result = parse(args);
  EXPECT_FALSE(result.options) << expected;
  EXPECT_EQ(result.exit_code, 2) << result.message;
  EXPECT_NE(result.message.find(expected), std::string::npos) << result.message;
}

TEST(SimOptions, DefaultsWithPlain) {
  const auto o = parse_ok({"--plain"});
  EXPECT_EQ(o.listen_host, "127.0.0.1");
  EXPECT_EQ(o.listen_port, 9443);
  EXPECT_TRUE(o.plain);
  EXPECT_EQ(o.symbols.symbols(), (std::vector<std::string>{"btcusdt", "ethusdt"}));
  EXPECT_EQ(o.rate, 1000u);
  EXPECT_EQ(o.ping_interval, seconds(20));
  EXPECT_EQ(o.pong_timeout, seconds(60));
  EXPECT_EQ(o.max_streams_per_connection, 1024u);
  EXPECT_EQ(o.log_level, "info");
  EXPECT_EQ(o.faults.max_connection_age, seconds(86400));
  EXPECT_EQ(o.faults.drop_every, Micros{0});
  EXPECT_FALSE(o.faults.stall_after.has_value());
  EXPECT_EQ(o.faults.malformed_every, 0u);
  EXPECT_TRUE(o.faults.target_path.empty());
}

TEST(SimOptions, TlsWithFiles) {
  test::TempDir dir;
  const auto cert = dir.write("cert.pem", "x");
  const auto key = dir.write("key.pem", "y");
  const auto o = parse_ok({"--tls-cert", cert, "--tls-key", key});
  EXPECT_FALSE(o.plain);
  EXPECT_EQ(o.tls_cert_file, cert);
  EXPECT_EQ(o.tls_key_file, key);
}

TEST(SimOptions, ExactlyOneOfTlsOrPlain) {
  test::TempDir dir;
  const auto cert = dir.write("cert.pem", "x");
  const auto key = dir.write("key.pem", "y");
  expect_usage_error({}, "--plain");
  expect_usage_error({"--tls-cert", cert}, "together");
  expect_usage_error({"--tls-key", key}, "together");
  expect_usage_error({"--plain", "--tls-cert", cert, "--tls-key", key}, "excludes");
  expect_usage_error({"--tls-cert", dir.file("missing.pem"), "--tls-key", key}, "missing.pem");
}

TEST(SimOptions, Listen) {
  auto o = parse_ok({"--plain", "--listen", "0.0.0.0:19443"});
  EXPECT_EQ(o.listen_host, "0.0.0.0");
  EXPECT_EQ(o.listen_port, 19443);
  o = parse_ok({"--plain", "--listen", "[::1]:0"});
  EXPECT_EQ(o.listen_host, "::1");
  EXPECT_EQ(o.listen_port, 0);
  expect_usage_error({"--plain", "--listen", "localhost"}, "HOST:PORT");
  expect_usage_error({"--plain", "--listen", ":9443"}, "HOST:PORT");
  expect_usage_error({"--plain", "--listen", "127.0.0.1:65536"}, "port");
  expect_usage_error({"--plain", "--listen", "127.0.0.1:http"}, "port");
}

TEST(SimOptions, SymbolsFromFileAndList) {
  test::TempDir dir;
  const auto file = dir.write("pairs.txt", "# pairs\nBINANCE:SOLUSDT\nbtcusdt\n");
  auto o = parse_ok({"--plain", "--symbols", "xrpusdt,BINANCE:BTCUSDT"});
  EXPECT_EQ(o.symbols.symbols(), (std::vector<std::string>{"xrpusdt", "btcusdt"}));
  o = parse_ok({"--plain", "--symbols-file", file, "--symbols", "btcusdt,adausdt"});
  EXPECT_EQ(o.symbols.symbols(), (std::vector<std::string>{"solusdt", "btcusdt", "adausdt"}));
}

TEST(SimOptions, BadSymbolsAreUsageErrorsNamingFileAndLine) {
  test::TempDir dir;
  const auto file = dir.write("pairs.txt", "btcusdt\n\nBTC/USDT\n");
  expect_usage_error({"--plain", "--symbols-file", file}, file + ":3:");
  expect_usage_error({"--plain", "--symbols", "btcusdt,,ethusdt"}, "item 2");
  expect_usage_error({"--plain", "--symbols-file", dir.file("none.txt")}, "none.txt");
}

TEST(SimOptions, NumbersAreDecimalAndInRange) {
  auto o = parse_ok(
      {"--plain", "--rate", "2000000", "--seed", "18446744073709551615", "--max-streams-per-connection", "200"});
  EXPECT_EQ(o.rate, 2'000'000u);
  EXPECT_EQ(o.seed, 18446744073709551615ULL);
  EXPECT_EQ(o.max_streams_per_connection, 200u);
  EXPECT_EQ(parse_ok({"--plain", "--rate", "0"}).rate, 0u);
  EXPECT_EQ(parse_ok({"--plain", "--rate", "010"}).rate, 10u);  // not octal
  expect_usage_error({"--plain", "--rate", "-5"}, "--rate");
  expect_usage_error({"--plain", "--rate", "1e6"}, "--rate");
  expect_usage_error({"--plain", "--rate", "99999999999"}, "--rate");
  expect_usage_error({"--plain", "--max-streams-per-connection", "0"}, "--max-streams-per-connection");
}

TEST(SimOptions, DurationsInSeconds) {
  const auto o = parse_ok({"--plain", "--ping-interval", "0.5", "--pong-timeout", "2", "--max-connection-age", "3600"});
  EXPECT_EQ(o.ping_interval, std::chrono::milliseconds(500));
  EXPECT_EQ(o.pong_timeout, seconds(2));
  EXPECT_EQ(o.faults.max_connection_age, seconds(3600));
  EXPECT_EQ(parse_ok({"--plain", "--ping-interval", "0"}).ping_interval, Micros{0});
  expect_usage_error({"--plain", "--pong-timeout", "0"}, "--pong-timeout");
  expect_usage_error({"--plain", "--max-connection-age", "-1"}, "--max-connection-age");
  expect_usage_error({"--plain", "--ping-interval", "soon"}, "--ping-interval");
  expect_usage_error({"--plain", "--ping-interval", "nan"}, "--ping-interval");
}

TEST(SimOptions, EveryFaultFlag) {
  const auto o = parse_ok(
      {"--plain", "--drop-every",         "30",  "--drop-after-events", "1000",   "--stall-after",
       "5",       "--stall-for",          "0",   "--shutdown-after",    "120",    "--malformed-every",
       "50",      "--refuse-for",         "2.5", "--refuse-first",      "3",      "--skip-every",
       "100",     "--max-connection-age", "600", "--fault-target-path", "/market"});
  const auto& f = o.faults;
  EXPECT_EQ(f.drop_every, seconds(30));
  EXPECT_EQ(f.drop_after_events, 1000u);
  EXPECT_EQ(f.stall_after, seconds(5));
  EXPECT_EQ(f.stall_for, Micros{0});
  EXPECT_EQ(f.shutdown_after, seconds(120));
  EXPECT_EQ(f.malformed_every, 50u);
  EXPECT_EQ(f.refuse_for, std::chrono::milliseconds(2500));
  EXPECT_EQ(f.refuse_first, 3u);
  EXPECT_EQ(f.skip_every, 100u);
  EXPECT_EQ(f.max_connection_age, seconds(600));
  EXPECT_EQ(f.target_path, "/market");
  EXPECT_EQ(parse_ok({"--plain", "--stall-after", "0"}).faults.stall_after, Micros{0});
  const auto kinds = parse_ok(
      {"--plain", "--malformed-every", "3", "--malformed-kinds", "max_id,duplicate_data", "--malformed-between"});
  EXPECT_EQ(kinds.faults.malformed_kinds,
            (std::vector<MalformedKind>{MalformedKind::max_id, MalformedKind::duplicate_data}));
  EXPECT_TRUE(kinds.faults.malformed_between);
}

TEST(SimOptions, FaultFlagErrors) {
  expect_usage_error({"--plain", "--stall-for", "5"}, "--stall-after");
  expect_usage_error({"--plain", "--drop-every", "0"}, "--drop-every");
  expect_usage_error({"--plain", "--malformed-every", "0"}, "--malformed-every");
  expect_usage_error({"--plain", "--skip-every", "x"}, "--skip-every");
  expect_usage_error({"--plain", "--malformed-every", "3", "--malformed-kinds", "max_id,nope"}, "--malformed-kinds");
  expect_usage_error({"--plain", "--malformed-kinds", "max_id"}, "--malformed-kinds");
  expect_usage_error({"--plain", "--malformed-between"}, "--malformed-between");
  expect_usage_error({"--plain", "--fault-target-path", "market"}, "--fault-target-path");
}

TEST(SimOptions, BookAndRestOptions) {
  const auto defaults = parse_ok({"--plain"});
  EXPECT_EQ(defaults.book_levels, 1000u);
  EXPECT_FALSE(defaults.rest_weight_limit.has_value());  // Binance's: 6000 spot, 2400 futures
  EXPECT_EQ(defaults.rest_delay, Micros{0});
  const auto o = parse_ok({"--plain", "--book-levels", "5000", "--rest-weight-limit", "100", "--rest-delay", "0.25"});
  EXPECT_EQ(o.book_levels, 5000u);
  EXPECT_EQ(o.rest_weight_limit, 100u);
  EXPECT_EQ(o.rest_delay, std::chrono::milliseconds(250));
  expect_usage_error({"--plain", "--book-levels", "0"}, "--book-levels");
  expect_usage_error({"--plain", "--book-levels", "5001"}, "--book-levels");
  expect_usage_error({"--plain", "--rest-weight-limit", "0"}, "--rest-weight-limit");
  expect_usage_error({"--plain", "--rest-weight-limit", "many"}, "--rest-weight-limit");
  expect_usage_error({"--plain", "--rest-delay", "-1"}, "--rest-delay");
  expect_usage_error({"--plain", "--rest-delay", "601"}, "--rest-delay");
}

TEST(SimOptions, LogLevelAndUnknownFlags) {
  EXPECT_EQ(parse_ok({"--plain", "--log-level", "debug"}).log_level, "debug");
  expect_usage_error({"--plain", "--log-level", "loud"}, "loud");
  expect_usage_error({"--plain", "--frobnicate"}, "frobnicate");
  expect_usage_error({"--plain", "--rate"}, "--rate");
}

TEST(SimOptions, HelpAndVersionExitZero) {
  auto help = parse({"--help"});
  EXPECT_FALSE(help.options);
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.message.find("--malformed-every"), std::string::npos);
  EXPECT_NE(help.message.find("--listen"), std::string::npos);
  for (const char* option : {"--book-levels", "--rest-weight-limit", "--rest-delay"}) {
    EXPECT_NE(help.message.find(option), std::string::npos) << option;
  }
  auto version = parse({"--version"});
  EXPECT_FALSE(version.options);
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_NE(version.message.find("tickrelay-sim"), std::string::npos);
}

}  // namespace
}  // namespace tickrelay::sim
