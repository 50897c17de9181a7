#include "tickrelay/relay/config_loader.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "process_runner.hpp"

namespace tickrelay::config {
namespace {

using Strings = std::vector<std::string>;

// The error a config produces, or a test failure when it loads.
std::optional<ConfigError> load_error(const std::string& yaml, const std::string& base_dir = ".") {
  try {
    load_config_string(yaml, "relay.yaml", base_dir);
  } catch (const ConfigError& e) {
    return e;
  }
  ADD_FAILURE() << "config loaded but should not have:\n" << yaml;
  return std::nullopt;
}

// Checks an error's line, key and reason (a substring), and that the message
// names file, line, key and reason in that order.
void expect_error(const std::string& yaml, int line, const std::string& key, const std::string& reason_part,
                  const std::string& base_dir = ".") {
  SCOPED_TRACE(yaml);
  const auto e = load_error(yaml, base_dir);
  if (!e) return;
  EXPECT_EQ(e->line(), line) << e->what();
  EXPECT_EQ(e->key(), key) << e->what();
  EXPECT_NE(e->reason().find(reason_part), std::string::npos) << e->what();
  std::string expected_prefix = "relay.yaml";
  if (line > 0) expected_prefix += ":" + std::to_string(line);
  expected_prefix += ": ";
  if (!key.empty()) expected_prefix += key + ": ";
  EXPECT_EQ(std::string(e->what()), expected_prefix + e->reason());
}

// A small valid config; `extra` is appended under the first upstream.
std::string minimal(const std::string& upstream_extra = "", const std::string& tail = "") {
  return "upstreams:\n"
         "  - name: usdm\n"
         "    url: wss://fstream.binance.com\n"
         "    symbols: [BTCUSDT, ethusdt]\n"
         "    streams: [\"{symbol}@kline_1h\"]\n" +
         upstream_extra + tail;
}

// --- valid configs ----------------------------------------------------------

TEST(ConfigLoader, MinimalConfigGetsDefaults) {
  const auto c = load_config_string(minimal(), "relay.yaml", ".");
  EXPECT_EQ(c.source, "relay.yaml");
  ASSERT_EQ(c.upstreams.size(), 1u);
  const auto& up = c.upstreams[0];
  EXPECT_EQ(up.name, "usdm");
  EXPECT_EQ(up.url, "wss://fstream.binance.com");
  EXPECT_EQ(up.product, Product::usdm_futures);  // from the host
  EXPECT_EQ(up.symbols, (Strings{"btcusdt", "ethusdt"}));
  EXPECT_EQ(up.stream_patterns, (Strings{"{symbol}@kline_1h"}));
  EXPECT_EQ(up.streams, (Strings{"btcusdt@kline_1h", "ethusdt@kline_1h"}));
  EXPECT_EQ(up.max_streams_per_connection, 200u);
  EXPECT_FALSE(up.microsecond_time);
  EXPECT_TRUE(up.tls.verify);
  EXPECT_EQ(up.stall_timeout_seconds, 240);  // futures default
  EXPECT_EQ(up.message_rate_per_second, 10);
  EXPECT_EQ(c.server.listen, "0.0.0.0:8765");
  EXPECT_EQ(c.metrics.listen, "127.0.0.1:9465");
  EXPECT_EQ(c.cpu_affinity, -1);
  EXPECT_EQ(c.log.level, "info");
  EXPECT_EQ(c.log.target, "auto");
  EXPECT_TRUE(c.server.replay.at("kline"));
  EXPECT_EQ(c.server.max_clients_per_ip, 256u);
  EXPECT_EQ(c.server.max_on_demand_streams, 256u);
  EXPECT_EQ(c.server.on_demand_idle_seconds, 300);
}

TEST(ConfigLoader, FullConfig) {
  test::TempDir dir;
  dir.write("pairs.txt", "# the study's pairs\nBINANCE:BTCUSDT\n\n  BINANCE:ETHUSDT  \nbinance:btcusdt\n");
  dir.write("ca.pem", "ca");
  dir.write("cert.pem", "cert");
  dir.write("key.pem", "key");
  const std::string yaml = R"(
upstreams:
  - name: usdm-futures
    url: wss://fstream.binance.com:443/
    product: usdm-futures
    symbols_file: pairs.txt
    streams:
      - "{symbol}@kline_1h"
      - "{symbol}@bookTicker"
      - "!markPrice@arr@1s"
      - btcusdt@kline_1h
    max_streams_per_connection: 1024
    time_unit: microsecond
    tls:
      verify: true
      ca_file: ca.pem
    reconnect:
      base: 250ms
      cap: 1m
    max_connection_age: 23h
    stall_timeout: 90s
    connect_timeout: 5s
    connection_rate:
      count: 100
      window: 5m
    message_rate: 4.5
    max_message_bytes: 8MiB
  - name: spot_1
    url: ws://127.0.0.1:9443
    product: spot
    symbols: [btcusdt]
    streams: ["{symbol}@trade", "!miniTicker@arr"]
server:
  listen: "[::1]:9000"
  max_clients: 500
  max_clients_per_ip: 10
  client_queue_bytes: 1MiB
  max_streams_per_client: 300
  client_message_rate: 10
  max_client_message_bytes: 32KiB
  max_request_bytes: 8KiB
  max_path_bytes: 4KiB
  handshake_timeout: 3s
  idle_ping: 15s
  shutdown_drain: 0
  auth_token: t0ken
  tls:
    cert_file: cert.pem
    key_file: key.pem
  subscribe_on_demand: true
  replay:
    kline: false
    depth: false
metrics:
  listen: 127.0.0.1:9999
cpu_affinity: 0
log:
  level: debug
  target: stderr
)";
  const auto c = load_config_string(yaml, "relay.yaml", dir.path());
  ASSERT_EQ(c.upstreams.size(), 2u);
  const auto& up = c.upstreams[0];
  EXPECT_EQ(up.name, "usdm-futures");
  EXPECT_EQ(up.product, Product::usdm_futures);
  EXPECT_EQ(up.symbols, (Strings{"btcusdt", "ethusdt"}));  // de-duplicated, file order
  EXPECT_EQ(up.symbols_file, dir.file("pairs.txt"));
  EXPECT_EQ(up.stream_patterns,
            (Strings{"{symbol}@kline_1h", "{symbol}@bookTicker", "!markPrice@arr@1s", "btcusdt@kline_1h"}));
  // Expanded in config order, duplicates dropped.
  EXPECT_EQ(up.streams, (Strings{"btcusdt@kline_1h", "ethusdt@kline_1h", "btcusdt@bookTicker", "ethusdt@bookTicker",
                                 "!markPrice@arr@1s"}));
  EXPECT_EQ(up.max_streams_per_connection, 1024u);
  EXPECT_TRUE(up.microsecond_time);
  EXPECT_TRUE(up.tls.verify);
  EXPECT_EQ(up.tls.ca_file, dir.file("ca.pem"));
  EXPECT_DOUBLE_EQ(up.reconnect_base_seconds, 0.25);
  EXPECT_DOUBLE_EQ(up.reconnect_cap_seconds, 60);
  EXPECT_DOUBLE_EQ(up.max_connection_age_seconds, 23 * 3600);
  EXPECT_DOUBLE_EQ(up.stall_timeout_seconds, 90);
  EXPECT_DOUBLE_EQ(up.connect_timeout_seconds, 5);
  EXPECT_EQ(up.connection_rate_count, 100u);
  EXPECT_DOUBLE_EQ(up.connection_rate_window_seconds, 300);
  EXPECT_DOUBLE_EQ(up.message_rate_per_second, 4.5);
  EXPECT_EQ(up.max_message_bytes, 8u << 20);

  const auto& spot = c.upstreams[1];
  EXPECT_EQ(spot.name, "spot_1");
  EXPECT_EQ(spot.product, Product::spot);
  EXPECT_EQ(spot.streams, (Strings{"btcusdt@trade", "!miniTicker@arr"}));
  EXPECT_EQ(spot.stall_timeout_seconds, 60);  // spot default
  EXPECT_EQ(spot.message_rate_per_second, 5);
  EXPECT_TRUE(spot.symbols_file.empty());

  const auto& s = c.server;
  EXPECT_EQ(s.listen, "[::1]:9000");
  EXPECT_EQ(s.max_clients, 500u);
  EXPECT_EQ(s.max_clients_per_ip, 10u);
  EXPECT_EQ(s.client_queue_bytes, 1u << 20);
  EXPECT_EQ(s.max_streams_per_client, 300u);
  EXPECT_DOUBLE_EQ(s.client_message_rate, 10);
  EXPECT_EQ(s.max_client_message_bytes, 32u << 10);
  EXPECT_EQ(s.max_request_bytes, 8u << 10);
  EXPECT_EQ(s.max_path_bytes, 4u << 10);
  EXPECT_DOUBLE_EQ(s.handshake_timeout_seconds, 3);
  EXPECT_DOUBLE_EQ(s.idle_ping_seconds, 15);
  EXPECT_DOUBLE_EQ(s.shutdown_drain_seconds, 0);
  EXPECT_EQ(s.auth_token, "t0ken");
  EXPECT_EQ(s.tls.cert_file, dir.file("cert.pem"));
  EXPECT_EQ(s.tls.key_file, dir.file("key.pem"));
  EXPECT_TRUE(s.subscribe_on_demand);
  EXPECT_FALSE(s.replay.at("kline"));
  EXPECT_FALSE(s.replay.at("depth"));
  EXPECT_TRUE(s.replay.at("ticker"));  // untouched families keep their default
  EXPECT_EQ(c.metrics.listen, "127.0.0.1:9999");
  EXPECT_EQ(c.cpu_affinity, 0);
  EXPECT_EQ(c.log.level, "debug");
  EXPECT_EQ(c.log.target, "stderr");
}

TEST(ConfigLoader, BookTickerOnUsdmFuturesIsRoutable) {
  // bookTicker lives on /public: a valid stream for usdm-futures.
  const auto c = load_config_string(
      "upstreams:\n  - name: f\n    url: wss://fstream.binance.com\n    streams: [btcusdt@bookTicker, btcusdt@depth5@100ms]\n",
      "relay.yaml", ".");
  EXPECT_EQ(c.upstreams[0].streams, (Strings{"btcusdt@bookTicker", "btcusdt@depth5@100ms"}));
}

TEST(ConfigLoader, LiteralStreamsNeedNoSymbols) {
  const auto c = load_config_string(
      "upstreams:\n  - name: s\n    url: wss://stream.binance.com:9443\n    streams: [\"!miniTicker@arr\", btcusdt@trade]\n",
      "relay.yaml", ".");
  EXPECT_EQ(c.upstreams[0].product, Product::spot);
  EXPECT_TRUE(c.upstreams[0].symbols.empty());
}

TEST(ConfigLoader, ProductFromEachKnownHost) {
  for (auto [host, product] :
       {std::pair{"stream.binance.com", Product::spot}, std::pair{"data-stream.binance.vision", Product::spot},
        std::pair{"fstream.binance.com", Product::usdm_futures},
        std::pair{"dstream.binance.com", Product::coinm_futures}}) {
    const auto c = load_config_string(std::string("upstreams:\n  - name: u\n    url: wss://") + host +
                                          "\n    streams: [\"!miniTicker@arr\"]\n",
                                      "relay.yaml", ".");
    EXPECT_EQ(c.upstreams[0].product, product) << host;
  }
}

TEST(ConfigLoader, MillisecondTimeUnit) {
  const auto c = load_config_string(minimal("    time_unit: millisecond\n"), "relay.yaml", ".");
  EXPECT_FALSE(c.upstreams[0].microsecond_time);
}

// Spot documents timeUnit=MICROSECOND, the futures products do not: spot is
// read in microseconds unless told otherwise, futures in milliseconds.
TEST(ConfigLoader, TimeUnitDefaultsByProduct) {
  const std::string spot =
      "upstreams:\n  - name: spot\n    url: wss://stream.binance.com:9443\n"
      "    streams: [btcusdt@trade]\n";
  EXPECT_TRUE(load_config_string(spot, "relay.yaml", ".").upstreams[0].microsecond_time);
  EXPECT_FALSE(
      load_config_string(spot + "    time_unit: millisecond\n", "relay.yaml", ".").upstreams[0].microsecond_time);
  EXPECT_FALSE(load_config_string(minimal(), "relay.yaml", ".").upstreams[0].microsecond_time);
  EXPECT_TRUE(
      load_config_string(minimal("    time_unit: microsecond\n"), "relay.yaml", ".").upstreams[0].microsecond_time);
}

TEST(ConfigLoader, TlsVerifyCanBeTurnedOff) {
  const auto c = load_config_string(minimal("    tls:\n      verify: false\n"), "relay.yaml", ".");
  EXPECT_FALSE(c.upstreams[0].tls.verify);
  EXPECT_TRUE(c.upstreams[0].tls.ca_file.empty());
}

// --- errors: file, line, key, reason -----------------------------------------

TEST(ConfigLoader, UnknownTopLevelKey) {
  expect_error(minimal("", "serevr:\n  listen: 0.0.0.0:1\n"), 6, "serevr", "unknown key");
}

TEST(ConfigLoader, UnknownNestedKeys) {
  expect_error(minimal("    max_streams: 5\n"), 6, "upstreams[0].max_streams", "unknown key");
  expect_error(minimal("    tls:\n      verfy: false\n"), 7, "upstreams[0].tls.verfy", "unknown key");
  expect_error(minimal("    reconnect:\n      max: 1s\n"), 7, "upstreams[0].reconnect.max", "unknown key");
  expect_error(minimal("", "server:\n  listen: 0.0.0.0:1\n  queue: 5\n"), 8, "server.queue", "unknown key");
  expect_error(minimal("", "metrics:\n  port: 1\n"), 7, "metrics.port", "unknown key");
  expect_error(minimal("", "log:\n  lvl: info\n"), 7, "log.lvl", "unknown key");
}

TEST(ConfigLoader, UnknownKeyListsTheKnownOnes) {
  const auto e = load_error(minimal("", "log:\n  lvl: info\n"));
  ASSERT_TRUE(e);
  EXPECT_NE(e->reason().find("level, target"), std::string::npos) << e->what();
}

// yaml-cpp allows any node as a key; anything but a plain name must still
// come back as a ConfigError, the only exception tickrelayd reports.
TEST(ConfigLoader, ListOrMappingAsKey) {
  expect_error(minimal("", "[a, b]: 1\n"), 6, "", "expected a plain key");
  expect_error(minimal("    {x: 1}: 2\n"), 6, "upstreams[0]", "expected a plain key");
  expect_error(minimal("", "server:\n  replay:\n    [kline]: true\n"), 8, "server.replay", "expected a stream type");
  expect_error(minimal("", "~: 1\n"), 6, "", "expected a plain key");
}

TEST(ConfigLoader, KeyGivenTwice) {
  expect_error(minimal("    max_streams_per_connection: 10\n    max_streams_per_connection: 20\n"), 7,
               "upstreams[0].max_streams_per_connection", "given twice");
  expect_error(minimal("", "log:\n  level: info\n  level: debug\n"), 8, "log.level", "given twice");
}

TEST(ConfigLoader, WrongTypes) {
  expect_error(minimal("    max_streams_per_connection: many\n"), 6, "upstreams[0].max_streams_per_connection",
               "expected a whole number");
  expect_error(minimal("    max_streams_per_connection: 1.5\n"), 6, "upstreams[0].max_streams_per_connection",
               "expected a whole number");
  expect_error(minimal("    max_streams_per_connection: [1]\n"), 6, "upstreams[0].max_streams_per_connection",
               "expected");
  expect_error(minimal("    tls:\n      verify: maybe\n"), 7, "upstreams[0].tls.verify", "expected true or false");
  expect_error(minimal("    tls: yes\n"), 6, "upstreams[0].tls", "expected a mapping");
  expect_error(minimal("    message_rate: fast\n"), 6, "upstreams[0].message_rate", "expected a number");
  expect_error(minimal("    connect_timeout: soon\n"), 6, "upstreams[0].connect_timeout", "expected a duration");
  expect_error(minimal("", "server:\n  subscribe_on_demand: 2\n"), 7, "server.subscribe_on_demand",
               "expected true or false");
  expect_error(minimal("", "server:\n  auth_token: [a, b]\n"), 7, "server.auth_token", "expected a string");
  expect_error(minimal("", "server: 5\n"), 6, "server", "expected a mapping");
  expect_error(minimal("", "server:\n  replay: [kline]\n"), 7, "server.replay", "expected a mapping");
  expect_error(minimal("", "server:\n  replay:\n    kline: sometimes\n"), 8, "server.replay.kline",
               "expected true or false");
  expect_error(minimal("", "cpu_affinity: 1.5\n"), 6, "cpu_affinity", "CPU number");
  expect_error(minimal("", "cpu_affinity: first\n"), 6, "cpu_affinity", "expected a number");
}

TEST(ConfigLoader, OutOfRange) {
  expect_error(minimal("    max_streams_per_connection: 2000\n"), 6, "upstreams[0].max_streams_per_connection",
               "must be between 1 and 1024 (got 2000)");
  expect_error(minimal("    max_streams_per_connection: 0\n"), 6, "upstreams[0].max_streams_per_connection",
               "must be between 1 and 1024");
  expect_error(minimal("    reconnect:\n      base: 0s\n"), 7, "upstreams[0].reconnect.base", "must be between");
  // A rule across keys points at the mapping, whose mark is its first key.
  expect_error(minimal("    reconnect:\n      base: 10s\n      cap: 5s\n"), 7, "upstreams[0].reconnect.cap",
               "must not be below reconnect.base");
  expect_error(minimal("    max_connection_age: 25h\n"), 6, "upstreams[0].max_connection_age", "must be between");
  expect_error(minimal("    message_rate: 0\n"), 6, "upstreams[0].message_rate", "must be between");
  expect_error(minimal("    max_message_bytes: 100\n"), 6, "upstreams[0].max_message_bytes", "must be between");
  expect_error(minimal("", "server:\n  client_queue_bytes: 1KiB\n"), 7, "server.client_queue_bytes", "must be between");
  expect_error(minimal("", "server:\n  max_request_bytes: 2KiB\n  max_path_bytes: 4KiB\n"), 7, "server.max_path_bytes",
               "must not exceed max_request_bytes");
  expect_error(minimal("", "cpu_affinity: 4096\n"), 6, "cpu_affinity", "must be between");
  // The client's token bucket holds one second's worth: below one message a
  // second it never holds the token a first message needs.
  expect_error(minimal("", "server:\n  client_message_rate: 0.5\n"), 7, "server.client_message_rate",
               "must be between 1 and 100000 (got 0.5)");
  expect_error(minimal("", "server:\n  client_message_rate: 0.999\n"), 7, "server.client_message_rate",
               "must be between 1");
  expect_error(minimal("", "cpu_affinity: -2\n"), 6, "cpu_affinity", "must be between");
}

// "nan" and "inf" read as numbers by from_chars; neither is a duration, and a
// NaN passes every range check, so they must be refused outright.
TEST(ConfigLoader, NonFiniteDurationsAreRefused) {
  expect_error(minimal("    connect_timeout: nan\n"), 6, "upstreams[0].connect_timeout", "expected a duration");
  expect_error(minimal("    reconnect:\n      base: nans\n"), 7, "upstreams[0].reconnect.base", "expected a duration");
  expect_error(minimal("    stall_timeout: inf\n"), 6, "upstreams[0].stall_timeout", "expected a duration");
  expect_error(minimal("    message_rate: .nan\n"), 6, "upstreams[0].message_rate", "must be between");
}

TEST(ConfigLoader, BadValues) {
  expect_error(minimal("    time_unit: nanosecond\n"), 6, "upstreams[0].time_unit", "millisecond or microsecond");
  expect_error(minimal("    product: futures\n"), 6, "upstreams[0].product", "expected spot, usdm-futures");
  expect_error(minimal("", "server:\n  listen: localhost:8765\n"), 7, "server.listen", "expected IP:PORT");
  expect_error(minimal("", "server:\n  listen: 0.0.0.0\n"), 7, "server.listen", "expected IP:PORT");
  expect_error(minimal("", "metrics:\n  listen: 127.0.0.1:99999\n"), 7, "metrics.listen", "expected IP:PORT");
  expect_error(minimal("", "log:\n  level: verbose\n"), 7, "log.level", "expected trace, debug");
  expect_error(minimal("", "log:\n  target: syslog\n"), 7, "log.target", "expected auto, stderr or journald");
}

TEST(ConfigLoader, UpstreamNames) {
  expect_error("upstreams:\n  - url: wss://fstream.binance.com\n    streams: [a@kline_1h]\n", 2, "upstreams[0].name",
               "required");
  expect_error("upstreams:\n  - name: \"bad name\"\n    url: wss://fstream.binance.com\n    streams: [a@kline_1h]\n", 2,
               "upstreams[0].name", "letters, digits");
  expect_error(minimal("", "  - name: usdm\n    url: wss://stream.binance.com\n    streams: [a@trade]\n"), 6,
               "upstreams[1].name", "used twice");
}

TEST(ConfigLoader, UrlWithPathIsRefused) {
  expect_error("upstreams:\n  - name: f\n    url: wss://fstream.binance.com/market\n    streams: [a@kline_1h]\n", 3,
               "upstreams[0].url", "without a path");
  expect_error("upstreams:\n  - name: f\n    url: wss://fstream.binance.com/ws\n    streams: [a@kline_1h]\n", 3,
               "upstreams[0].url", "without a path");
}

TEST(ConfigLoader, UrlWithBadScheme) {
  for (auto url : {"https://fstream.binance.com", "fstream.binance.com", "wss://", "tcp://1.2.3.4:5"}) {
    expect_error(std::string("upstreams:\n  - name: f\n    url: \"") + url + "\"\n    streams: [a@kline_1h]\n", 3,
                 "upstreams[0].url", "expected ws://HOST[:PORT] or wss://HOST[:PORT]");
  }
}

TEST(ConfigLoader, UrlWithQuery) {
  expect_error(
      "upstreams:\n  - name: f\n    url: wss://fstream.binance.com?timeUnit=MICROSECOND\n    streams: "
      "[a@kline_1h]\n",
      3, "upstreams[0].url", "no query");
}

TEST(ConfigLoader, MissingUrl) {
  expect_error("upstreams:\n  - name: f\n    streams: [a@kline_1h]\n", 2, "upstreams[0].url", "required");
}

TEST(ConfigLoader, UnknownHostNeedsAProduct) {
  expect_error("upstreams:\n  - name: sim\n    url: wss://127.0.0.1:9443\n    streams: [a@kline_1h]\n", 3,
               "upstreams[0].product", "required for host 127.0.0.1");
}

TEST(ConfigLoader, UnroutableStream) {
  expect_error(minimal().replace(minimal().find("{symbol}@kline_1h"), 17, "{symbol}@avgPrice"), 5,
               "upstreams[0].streams[0]", "not served by usdm-futures");
  expect_error(
      "upstreams:\n  - name: s\n    url: wss://stream.binance.com\n    streams:\n      - btcusdt@trade\n"
      "      - btcusdt@markPrice\n",
      6, "upstreams[0].streams[1]", "stream 'btcusdt@markPrice' (markPrice) is not served by spot");
}

TEST(ConfigLoader, NotAStreamName) {
  expect_error("upstreams:\n  - name: s\n    url: wss://stream.binance.com\n    streams: [BTCUSDT@trade]\n", 4,
               "upstreams[0].streams[0]", "not a Binance stream name: 'BTCUSDT@trade'");
  expect_error(
      "upstreams:\n  - name: s\n    url: wss://stream.binance.com\n    symbols: [btcusdt]\n"
      "    streams: [\"{symbol}@kline_7m\"]\n",
      5, "upstreams[0].streams[0]", "not a Binance stream name: 'btcusdt@kline_7m'");
}

TEST(ConfigLoader, StreamsRequired) {
  expect_error("upstreams:\n  - name: s\n    url: wss://stream.binance.com\n", 2, "upstreams[0].streams",
               "non-empty list");
  expect_error("upstreams:\n  - name: s\n    url: wss://stream.binance.com\n    streams: []\n", 4,
               "upstreams[0].streams", "non-empty list");
}

TEST(ConfigLoader, UpstreamsRequired) {
  expect_error("server:\n  listen: 0.0.0.0:1\n", 1, "upstreams", "non-empty list");
  expect_error("upstreams: []\n", 1, "upstreams", "non-empty list");
}

TEST(ConfigLoader, TemplateWithoutSymbols) {
  expect_error(
      "upstreams:\n  - name: s\n    url: wss://stream.binance.com\n    streams: [btcusdt@trade, "
      "\"{symbol}@trade\"]\n",
      4, "upstreams[0].streams[1]", "template needs symbols or symbols_file");
}

TEST(ConfigLoader, BadSymbols) {
  expect_error(minimal().replace(minimal().find("BTCUSDT"), 7, "\"BTC-USDT\""), 4, "upstreams[0].symbols[0]",
               "not a symbol: 'BTC-USDT'");
  expect_error(minimal().replace(minimal().find("[BTCUSDT, ethusdt]"), 18, "btcusdt"), 4, "upstreams[0].symbols",
               "expected a list of symbols");
}

TEST(ConfigLoader, SymbolsAndSymbolsFileTogether) {
  test::TempDir dir;
  dir.write("pairs.txt", "btcusdt\n");
  expect_error(minimal("    symbols_file: pairs.txt\n"), 6, "upstreams[0].symbols_file", "not both", dir.path());
}

TEST(ConfigLoader, SymbolsFileRelativeToTheConfigsFolder) {
  test::TempDir dir;
  std::filesystem::create_directories(dir.file("conf"));
  dir.write("conf/pairs.txt", "BINANCE:BTCUSDT\nBINANCE:1000PEPEUSDT\n");
  const auto path = dir.write("conf/relay.yaml",
                              "upstreams:\n  - name: f\n    url: wss://fstream.binance.com\n"
                              "    symbols_file: pairs.txt\n    streams: [\"{symbol}@kline_1h\"]\n");
  const auto c = load_config_file(path);
  EXPECT_EQ(c.source, path);
  EXPECT_EQ(c.upstreams[0].symbols_file, dir.file("conf/pairs.txt"));
  EXPECT_EQ(c.upstreams[0].streams, (Strings{"btcusdt@kline_1h", "1000pepeusdt@kline_1h"}));
}

TEST(ConfigLoader, SymbolsFileAbsolutePath) {
  test::TempDir dir;
  const auto pairs = dir.write("pairs.txt", "btcusdt\n");
  const auto c = load_config_string(
      "upstreams:\n  - name: f\n    url: wss://fstream.binance.com\n"
      "    symbols_file: " +
          pairs + "\n    streams: [\"{symbol}@kline_1h\"]\n",
      "relay.yaml", "/nonexistent");
  EXPECT_EQ(c.upstreams[0].symbols, (Strings{"btcusdt"}));
}

TEST(ConfigLoader, SymbolsFileWithABadLineNamesFileAndLine) {
  test::TempDir dir;
  dir.write("pairs.txt", "BINANCE:BTCUSDT\n# comment\nBINANCE:ETH/USDT\n");
  const std::string yaml =
      "upstreams:\n  - name: f\n    url: wss://fstream.binance.com\n"
      "    symbols_file: pairs.txt\n    streams: [\"{symbol}@kline_1h\"]\n";
  expect_error(yaml, 4, "upstreams[0].symbols_file",
               dir.file("pairs.txt") + " line 3: not a symbol: 'BINANCE:ETH/USDT'", dir.path());
}

TEST(ConfigLoader, SymbolsFileMissingOrEmpty) {
  test::TempDir dir;
  dir.write("empty.txt", "# nothing\n\n");
  const std::string head = "upstreams:\n  - name: f\n    url: wss://fstream.binance.com\n    symbols_file: ";
  const std::string tail = "\n    streams: [\"{symbol}@kline_1h\"]\n";
  expect_error(head + "missing.txt" + tail, 4, "upstreams[0].symbols_file",
               "cannot read file " + dir.file("missing.txt"), dir.path());
  expect_error(head + "empty.txt" + tail, 4, "upstreams[0].symbols_file", "holds no symbols", dir.path());
}

// Files are read on the loop at start and reload: a device or a FIFO could
// block it or never end (/dev/zero), so only regular files are read.
TEST(ConfigLoader, NamedFilesMustBeRegularFiles) {
  test::TempDir dir;
  std::filesystem::create_directory(dir.file("sub"));
  const std::string head = "upstreams:\n  - name: f\n    url: wss://fstream.binance.com\n    symbols_file: ";
  const std::string tail = "\n    streams: [\"{symbol}@kline_1h\"]\n";
  expect_error(head + "/dev/null" + tail, 4, "upstreams[0].symbols_file", "/dev/null is not a regular file",
               dir.path());
  expect_error(head + "sub" + tail, 4, "upstreams[0].symbols_file", dir.file("sub") + " is not a regular file",
               dir.path());
  expect_error(minimal("    tls:\n      ca_file: /dev/zero\n"), 7, "upstreams[0].tls.ca_file",
               "/dev/zero is not a regular file");
}

TEST(ConfigLoader, StudySymbolsFileLoads) {
  const std::string yaml =
      "upstreams:\n  - name: f\n    url: wss://fstream.binance.com\n"
      "    symbols_file: usdt-pairs.txt\n    streams: [\"{symbol}@kline_1h\"]\n";
  const auto c = load_config_string(yaml, "relay.yaml", std::string(TICKRELAY_SOURCE_DIR) + "/config");
  EXPECT_EQ(c.upstreams[0].streams.size(), 346u);
  EXPECT_EQ(c.upstreams[0].streams.front(), "btcusdt@kline_1h");
}

TEST(ConfigLoader, ServerTlsHalfGiven) {
  test::TempDir dir;
  dir.write("cert.pem", "cert");
  dir.write("key.pem", "key");
  expect_error(minimal("", "server:\n  tls:\n    cert_file: cert.pem\n"), 8, "server.tls",
               "give both cert_file and key_file, or neither", dir.path());
  expect_error(minimal("", "server:\n  tls:\n    key_file: key.pem\n"), 8, "server.tls",
               "give both cert_file and key_file, or neither", dir.path());
  expect_error(minimal("", "server:\n  tls:\n    cert_file: cert.pem\n    key_file: nokey.pem\n"), 9,
               "server.tls.key_file", "cannot read file", dir.path());
}

TEST(ConfigLoader, CaFileMustBeReadable) {
  expect_error(minimal("    tls:\n      ca_file: /nonexistent/ca.pem\n"), 7, "upstreams[0].tls.ca_file",
               "cannot read file /nonexistent/ca.pem");
}

TEST(ConfigLoader, ReplayUnknownFamily) {
  expect_error(minimal("", "server:\n  replay:\n    kline: true\n    trade: true\n"), 9, "server.replay.trade",
               "not a stream type with a state to replay");
  const auto e = load_error(minimal("", "server:\n  replay:\n    klines: true\n"));
  ASSERT_TRUE(e);
  EXPECT_NE(e->reason().find("kline"), std::string::npos);
  EXPECT_NE(e->reason().find("bookTicker"), std::string::npos);
}

TEST(ConfigLoader, YamlSyntaxErrorNamesItsLine) {
  const auto e = load_error("upstreams:\n  - name: f\n    url: [wss://fstream.binance.com\n    streams: a\n");
  ASSERT_TRUE(e);
  EXPECT_GT(e->line(), 0);
  EXPECT_NE(e->reason().find("YAML syntax"), std::string::npos) << e->what();
  EXPECT_EQ(e->key(), "");

  const auto tab = load_error("upstreams:\n  - name: f\n\t  url: x\n");
  ASSERT_TRUE(tab);
  EXPECT_EQ(tab->line(), 3) << tab->what();
  EXPECT_NE(tab->reason().find("YAML syntax"), std::string::npos) << tab->what();

  const auto colon = load_error("upstreams:\n  - name: f\n    url: a: b\n");
  ASSERT_TRUE(colon);
  EXPECT_EQ(colon->line(), 3) << colon->what();
  EXPECT_NE(colon->reason().find("YAML syntax"), std::string::npos) << colon->what();
}

TEST(ConfigLoader, EmptyOrNonMappingConfig) {
  expect_error("", 0, "", "empty configuration");
  expect_error("# only a comment\n", 0, "", "empty configuration");
  expect_error("- a\n- b\n", 1, "", "expected a mapping");
  expect_error("just text\n", 1, "", "expected a mapping");
}

TEST(ConfigLoader, FileThatCannotBeRead) {
  try {
    load_config_file("/nonexistent/tickrelayd.yaml");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.line(), 0);
    EXPECT_EQ(std::string(e.what()), "/nonexistent/tickrelayd.yaml: cannot read the file");
  }
}

TEST(ConfigLoader, FileErrorsNameTheFile) {
  test::TempDir dir;
  const auto path = dir.write("bad.yaml", minimal("    bogus: 1\n"));
  try {
    load_config_file(path);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ":6: upstreams[0].bogus: unknown key", 0), 0u) << e.what();
  }
}

// --- the shipped example configs ---------------------------------------------

// Loads a shipped config from a copy of config/ beside an empty build/. The
// loader only checks that TLS files are readable, and some are made at run
// time (the demo's simulator CA in build/demo/): a file missing under build/
// gets a placeholder; a file missing anywhere else is an error in the config.
void expect_shipped_config_loads(const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path shipped = fs::path(TICKRELAY_SOURCE_DIR) / "config";
  if (!fs::exists(shipped / name)) GTEST_SKIP() << (shipped / name) << " is not there yet";
  test::TempDir dir;
  const fs::path root = fs::path(dir.path()).lexically_normal();
  fs::copy(shipped, root / "config", fs::copy_options::recursive);
  const std::string build = (root / "build").string() + "/";
  const std::string unreadable = "cannot read file ";
  for (int placeholders = 0; placeholders < 8; ++placeholders) {
    try {
      const auto c = load_config_file((root / "config" / name).string());
      EXPECT_FALSE(c.upstreams.empty());
      return;
    } catch (const ConfigError& e) {
      if (e.reason().rfind(unreadable, 0) != 0) FAIL() << e.what();
      const auto missing = fs::path(e.reason().substr(unreadable.size())).lexically_normal();
      if (missing.string().rfind(build, 0) != 0) FAIL() << e.what();
      fs::create_directories(missing.parent_path());
      std::ofstream(missing) << "placeholder for a file made at run time\n";
    }
  }
  FAIL() << name << " names too many missing files";
}

TEST(ConfigLoader, ShippedTickrelaydYamlParses) { expect_shipped_config_loads("tickrelayd.yaml"); }

TEST(ConfigLoader, ShippedDemoYamlParses) { expect_shipped_config_loads("demo.yaml"); }

// --- parse_duration, parse_size -------------------------------------------------

TEST(ParseDuration, Accepted) {
  struct Case {
    std::string_view text;
    double seconds;
  };
  for (const auto& c : {Case{"30", 30}, Case{"0", 0}, Case{"30s", 30}, Case{"1.5s", 1.5}, Case{"250ms", 0.25},
                        Case{"5m", 300}, Case{"2h", 7200}, Case{"1d", 86400}, Case{"23h50m", 85800},
                        Case{"1h30m15s", 5415}, Case{"1m500ms", 60.5}, Case{"0.5", 0.5}}) {
    double s = -1;
    EXPECT_TRUE(parse_duration(c.text, s)) << c.text;
    EXPECT_DOUBLE_EQ(s, c.seconds) << c.text;
  }
}

TEST(ParseDuration, Refused) {
  for (std::string_view text : {"",       "s",   "ms", "-1", "-1s", "5x",  "5 s",  " 5s",  "5s ",   "30s30",
                                "1.5.5s", "5sm", "5S", "5M", "nan", "inf", "nans", "infs", "1h-5m", "1e400"}) {
    double s = 42;
    EXPECT_FALSE(parse_duration(text, s)) << "'" << text << "' -> " << s;
    EXPECT_EQ(s, 42) << "output touched for '" << text << "'";
  }
}

TEST(ParseSize, Accepted) {
  struct Case {
    std::string_view text;
    std::size_t bytes;
  };
  for (const auto& c : {Case{"0", 0}, Case{"4194304", 4194304}, Case{"4MiB", 4u << 20}, Case{"64KiB", 64u << 10},
                        Case{"1GiB", std::size_t{1} << 30}, Case{"18446744073709551615", ~std::size_t{0}},
                        Case{"17179869183GiB", std::size_t{17179869183} << 30}}) {
    std::size_t b = 1;
    EXPECT_TRUE(parse_size(c.text, b)) << c.text;
    EXPECT_EQ(b, c.bytes) << c.text;
  }
}

TEST(ParseSize, Refused) {
  for (std::string_view text : {"", "MiB", "-1", "4MB", "4mib", "4 MiB", "4.5MiB", " 4", "4 ", "4KiBs",
                                "18446744073709551616", "17179869184GiB", "0x10"}) {
    std::size_t b = 7;
    EXPECT_FALSE(parse_size(text, b)) << "'" << text << "'";
    EXPECT_EQ(b, 7u) << text;
  }
}

}  // namespace
}  // namespace tickrelay::config

namespace tickrelay::config {
namespace {

const char* kEdge = R"(upstreams:
  - name: backbone
    type: nats
    product: usdm-futures
    streams: ["btcusdt@aggTrade"]
backbone:
  nats:
    urls: ["nats://10.0.0.1:4222", "nats://10.0.0.2:4222"]
    name: edge-1
    unsubscribe_grace: 5s
)";

TEST(ConfigLoaderBackbone, EdgeUpstreamAndBackbone) {
  const auto c = load_config_string(kEdge, "relay.yaml", ".");
  ASSERT_EQ(c.upstreams.size(), 1u);
  EXPECT_EQ(c.upstreams[0].type, UpstreamType::nats);
  EXPECT_EQ(c.upstreams[0].url, "");
  EXPECT_FALSE(c.upstreams[0].microsecond_time);  // the product's default, as for an ingest
  ASSERT_TRUE(c.backbone.enabled());
  EXPECT_EQ(c.backbone.nats.urls, (Strings{"nats://10.0.0.1:4222", "nats://10.0.0.2:4222"}));
  EXPECT_EQ(c.backbone.nats.name, "edge-1");
  EXPECT_FALSE(c.backbone.nats.publish);
  EXPECT_EQ(c.backbone.nats.subject_prefix, "tickrelay");
  EXPECT_EQ(c.backbone.nats.unsubscribe_grace_seconds, 5);
}

TEST(ConfigLoaderBackbone, IngestPublishesAndNamesItselfByHostByDefault) {
  const auto c = load_config_string(R"(upstreams:
  - name: usdm
    url: wss://fstream.binance.com
    streams: ["btcusdt@kline_1h"]
backbone:
  nats: { urls: ["nats://127.0.0.1:4222"], publish: true, subject_prefix: md.eu }
)",
                                    "relay.yaml", ".");
  EXPECT_TRUE(c.backbone.nats.publish);
  EXPECT_EQ(c.backbone.nats.subject_prefix, "md.eu");
  EXPECT_FALSE(c.backbone.nats.name.empty());
  EXPECT_FALSE(load_config_string("upstreams:\n  - name: u\n    url: wss://stream.binance.com:9443\n"
                                  "    streams: [\"btcusdt@trade\"]\n",
                                  "relay.yaml", ".")
                   .backbone.enabled());
}

TEST(ConfigLoaderBackbone, MistakesNameTheKeyAndLine) {
  expect_error("upstreams:\n  - name: b\n    type: nats\n    product: spot\n    streams: [\"btcusdt@trade\"]\n", 3,
               "upstreams[0].type", "needs backbone.nats.urls");
  expect_error(
      "upstreams:\n  - name: b\n    type: nats\n    url: ws://x:1\n    product: spot\n"
      "    streams: [\"btcusdt@trade\"]\nbackbone:\n  nats: { urls: [\"nats://a:1\"] }\n",
      4, "upstreams[0].url", "unknown key");
  expect_error("upstreams:\n  - name: b\n    type: nats\n    streams: [\"btcusdt@trade\"]\n", 2, "upstreams[0].product",
               "required for an upstream of type nats");
  expect_error("upstreams:\n  - name: b\n    type: kafka\n", 3, "upstreams[0].type", "expected binance or nats");
  const std::string up =
      "upstreams:\n  - name: u\n    url: wss://fstream.binance.com\n    streams: [\"btcusdt@trade\"]\n";
  expect_error(up + "backbone:\n  nats:\n    urls: [\"http://a:1\"]\n", 7, "backbone.nats.urls[0]",
               "expected nats://HOST:PORT");
  expect_error(up + "backbone:\n  nats:\n    urls: [\"nats://a\"]\n", 7, "backbone.nats.urls[0]", "nats://HOST:PORT");
  expect_error(up + "backbone:\n  nats:\n    urls: []\n", 7, "backbone.nats.urls", "non-empty list");
  expect_error(up + "backbone:\n  nats:\n    urls: [\"nats://a:1\"]\n    subject_prefix: \"a.*\"\n", 8,
               "backbone.nats.subject_prefix", "letters, digits");
  expect_error(up + "backbone:\n  nats:\n    urls: [\"nats://a:1\"]\n    publsh: true\n", 8, "backbone.nats.publsh",
               "unknown key");
  expect_error(up + "backbone:\n  kafka: {}\n", 6, "backbone.kafka", "unknown key");
}

TEST(ConfigLoaderBackbone, TlsAndCredentials) {
  const tickrelay::test::TempDir dir;
  const auto ca = dir.write("ca.pem", "x");
  const auto cert = dir.write("cert.pem", "x");
  const auto key = dir.write("key.pem", "x");
  const std::string up =
      "upstreams:\n  - name: u\n    url: wss://fstream.binance.com\n    streams: [\"btcusdt@trade\"]\n";
  // A tls:// URL turns TLS on, checked against the URLs' one host.
  auto c = load_config_string(up + "backbone:\n  nats:\n    urls: [\"tls://nats.internal:4222\"]\n"
                                   "    user: edge\n    password: s3cret\n",
                              "relay.yaml", ".");
  EXPECT_TRUE(c.backbone.nats.tls.enabled);
  EXPECT_EQ(c.backbone.nats.tls.server_name, "nats.internal");
  EXPECT_EQ(c.backbone.nats.user, "edge");
  EXPECT_EQ(c.backbone.nats.password, "s3cret");
  c = load_config_string(up +
                             "backbone:\n  nats:\n    urls: [\"nats://10.0.0.1:4222\", \"nats://10.0.0.2:4222\"]\n"
                             "    token: t0ken\n    tls:\n      ca_file: " +
                             ca + "\n      cert_file: " + cert + "\n      key_file: " + key +
                             "\n      server_name: nats.internal\n",
                         "relay.yaml", ".");
  EXPECT_TRUE(c.backbone.nats.tls.enabled);
  EXPECT_EQ(c.backbone.nats.tls.ca_file, ca);
  EXPECT_EQ(c.backbone.nats.tls.cert_file, cert);
  EXPECT_EQ(c.backbone.nats.tls.key_file, key);
  EXPECT_EQ(c.backbone.nats.tls.server_name, "nats.internal");
  EXPECT_EQ(c.backbone.nats.token, "t0ken");
  c = load_config_string(up + "backbone:\n  nats:\n    urls: [\"nats://a:1\"]\n", "relay.yaml", ".");
  EXPECT_FALSE(c.backbone.nats.tls.enabled);
  EXPECT_TRUE(c.backbone.nats.user.empty() && c.backbone.nats.token.empty());

  const std::string two = up + "backbone:\n  nats:\n    urls: [\"tls://a:1\", \"tls://b:1\"]\n";
  expect_error(two, 7, "backbone.nats.tls.server_name", "give the name they all carry");
  expect_error(up + "backbone:\n  nats:\n    urls: [\"nats://a:1\"]\n    tls:\n      cert_file: " + cert + "\n", 9,
               "backbone.nats.tls", "both cert_file and key_file");
  expect_error(up + "backbone:\n  nats:\n    urls: [\"nats://a:1\"]\n    tls:\n      ca_file: /nonexistent/ca.pem\n", 9,
               "backbone.nats.tls.ca_file", "");
  expect_error(up + "backbone:\n  nats:\n    urls: [\"nats://a:1\"]\n    tls:\n      verify: false\n", 9,
               "backbone.nats.tls.verify", "unknown key");
  expect_error(up + "backbone:\n  nats:\n    urls: [\"nats://a:1\"]\n    user: edge\n", 8, "backbone.nats.password",
               "both user and password");
  expect_error(up + "backbone:\n  nats:\n    urls: [\"nats://a:1\"]\n    user: e\n    password: p\n    token: t\n", 10,
               "backbone.nats.token", "user is given already");
  expect_error(up + "backbone:\n  nats:\n    urls: [\"nats://edge:pw@a:1\"]\n", 7, "backbone.nats.urls[0]",
               "credentials go in user and password");

  // NKeys and credentials files (NATS' decentralised accounts).
  const std::string nkey = "U" + std::string(55, 'A');
  const auto seed = dir.write("edge.nk", "SU...");
  const auto creds = dir.write("edge.creds", "-----BEGIN NATS USER JWT-----");
  const std::string one = up + "backbone:\n  nats:\n    urls: [\"nats://a:1\"]\n";
  c = load_config_string(one + "    nkey: " + nkey + "\n    nkey_seed_file: " + seed + "\n", "relay.yaml", ".");
  EXPECT_EQ(c.backbone.nats.nkey, nkey);
  EXPECT_EQ(c.backbone.nats.nkey_seed_file, seed);
  c = load_config_string(one + "    credentials_file: " + creds + "\n", "relay.yaml", ".");
  EXPECT_EQ(c.backbone.nats.credentials_file, creds);
  EXPECT_TRUE(c.backbone.nats.nkey.empty());
  expect_error(one + "    nkey: " + nkey + "\n", 8, "backbone.nats.nkey_seed_file", "both nkey and nkey_seed_file");
  expect_error(one + "    nkey_seed_file: " + seed + "\n", 8, "backbone.nats.nkey", "both nkey and nkey_seed_file");
  expect_error(one + "    nkey: A" + std::string(55, 'A') + "\n    nkey_seed_file: " + seed + "\n", 8,
               "backbone.nats.nkey", "starting with U");
  expect_error(one + "    nkey: U" + std::string(54, 'A') + "1\n    nkey_seed_file: " + seed + "\n", 8,
               "backbone.nats.nkey", "56 characters");
  expect_error(one + "    credentials_file: /nonexistent/edge.creds\n", 8, "backbone.nats.credentials_file", "");
  expect_error(one + "    nkey: " + nkey + "\n    nkey_seed_file: " + seed + "\n    credentials_file: " + creds + "\n",
               10, "backbone.nats.credentials_file", "nkey is given already");
  expect_error(one + "    token: t\n    credentials_file: " + creds + "\n", 9, "backbone.nats.credentials_file",
               "token is given already");
}

}  // namespace
TEST(ConfigLoaderBooks, DefaultsAndTheProductsRestApi) {
  const auto c = load_config_string(R"(upstreams:
  - name: spot
    url: wss://stream.binance.com:9443
    streams: ["btcusdt@depth@100ms"]
  - name: usdm
    url: wss://fstream.binance.com
    streams: ["btcusdt@depth"]
  - name: sim
    url: wss://127.0.0.1:9443
    product: coinm-futures
    rest_url: https://127.0.0.1:9443
    streams: ["btcusd_perp@depth"]
)",
                                    "relay.yaml", ".");
  EXPECT_EQ(c.upstreams[0].rest_url, "https://api.binance.com");
  EXPECT_EQ(c.upstreams[1].rest_url, "https://fapi.binance.com");
  EXPECT_EQ(c.upstreams[2].rest_url, "https://127.0.0.1:9443");
  EXPECT_TRUE(c.books.enabled);
  EXPECT_EQ(c.books.snapshot_limit, 1000u);
  EXPECT_EQ(c.books.weight_per_minute, 1200u);
  const auto b = load_config_string(R"(upstreams:
  - name: spot
    url: wss://stream.binance.com:9443
    streams: ["btcusdt@depth"]
books:
  enabled: false
  snapshot_limit: 5000
  max_levels: 200
  weight_per_minute: 3000
  max_concurrent_snapshots: 2
  wait: 2s
  client_weight_per_minute: 600
)",
                                    "relay.yaml", ".");
  EXPECT_FALSE(b.books.enabled);
  EXPECT_EQ(b.books.snapshot_limit, 5000u);
  EXPECT_EQ(b.books.max_levels, 200u);
  EXPECT_EQ(b.books.weight_per_minute, 3000u);
  EXPECT_EQ(b.books.max_concurrent_snapshots, 2u);
  EXPECT_EQ(b.books.wait_seconds, 2);
  EXPECT_EQ(b.books.client_weight_per_minute, 600u);
}

// Found by fuzz.config_loader: an upstream that is a string, not a mapping,
// aborted the loader with yaml-cpp's BadSubscript.
TEST(ConfigLoader, UpstreamThatIsNotAMappingNamesItsKeyAndLine) {
  expect_error("upstreams:\n  - name:wss://x\n", 2, "upstreams[0]", "expected a mapping");
  expect_error("upstreams:\n  - [a, b]\n", 2, "upstreams[0]", "expected a mapping");
}

TEST(ConfigLoaderBooks, MistakesNameTheKeyAndLine) {
  const std::string up =
      "upstreams:\n  - name: u\n    url: wss://fstream.binance.com\n    streams: [\"btcusdt@depth\"]\n";
  expect_error(up + "    rest_url: wss://fapi.binance.com\n", 5, "upstreams[0].rest_url", "expected https://HOST");
  expect_error(up + "    rest_url: https://fapi.binance.com/fapi/v1\n", 5, "upstreams[0].rest_url",
               "expected https://HOST");
  expect_error(up + "books:\n  snapshot_limit: 6000\n", 6, "books.snapshot_limit", "");
  expect_error(up + "books:\n  weight_per_minute: 0\n", 6, "books.weight_per_minute", "");
  expect_error(up + "books:\n  depth: 5\n", 6, "books.depth", "unknown key");
}

}  // namespace tickrelay::config
