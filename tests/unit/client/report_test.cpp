#include "report.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <sstream>

namespace tickrelay::client {
namespace {

RunReport sample_report(int targets) {
  RunReport report;
  report.version = "0.1.0";
  report.duration_seconds = 10;
  report.threads = 2;
  report.reader = "raw";
  report.client.available = true;
  report.client.cpu_percent = 55.5;
  report.client.resident_avg = 20 << 20;
  report.client.resident_peak = 30 << 20;
  for (int i = 0; i < targets; ++i) {
    TargetReport t;
    t.impl = i == 0 ? "tickrelay" : "other";
    t.url = "ws://127.0.0.1:900" + std::to_string(i) + "/ws/btcusdt@trade";
    t.connections = 4;
    t.connections_up_end = 4;
    t.messages = 1000 * (i + 1);
    t.bytes = 100000 * (i + 1);
    t.messages_per_second = 100.0 * (i + 1);
    t.megabytes_per_second = 0.01 * (i + 1);
    t.per_connection_min = 240;
    t.per_connection_avg = 250;
    t.per_connection_max = 260;
    t.per_connection_rate = 25;
    t.latency = LatencySummary{1000, 0.5, 0.1, 0.4, 0.9, 2.0, 3.0, 4.0};
    t.millisecond_times = i == 1 ? 1000 : 0;
    t.lost = 3;
    t.duplicates = 1;
    t.connect_errors = 1;
    t.drops = 2;
    t.reconnects = 2;
    t.server_pid = 4242;
    t.server.available = true;
    t.server.cpu_percent = 12.5;
    t.server.resident_peak = 5 << 20;
    t.top_movers.push_back(SymbolState{.name = "BTCUSDT", .last_price = 43000, .change_pct = 2.5, .updates = 10});
    report.targets.push_back(t);
  }
  return report;
}

TEST(Report, JsonHoldsEveryField) {
  const auto parsed = boost::json::parse(render_json(sample_report(2)));
  const auto& root = parsed.as_object();
  for (const char* key : {"tool", "version", "duration_seconds", "threads", "reader", "client", "targets"}) {
    EXPECT_TRUE(root.contains(key)) << key;
  }
  for (const char* key : {"cpu_percent", "resident_avg_bytes", "resident_peak_bytes"}) {
    EXPECT_TRUE(root.at("client").as_object().contains(key)) << key;
  }
  const auto& targets = root.at("targets").as_array();
  ASSERT_EQ(targets.size(), 2u);
  const auto& t = targets[1].as_object();
  for (const char* key : {"impl",
                          "url",
                          "connections",
                          "connections_up_end",
                          "messages",
                          "bytes",
                          "messages_per_second",
                          "megabytes_per_second",
                          "per_connection",
                          "latency_ms",
                          "event_time_in_milliseconds",
                          "without_event_time",
                          "lost",
                          "duplicates",
                          "connect_errors",
                          "drops",
                          "errors",
                          "reconnects",
                          "control_messages",
                          "malformed",
                          "first_error",
                          "server",
                          "top_movers",
                          "ratio_to_first"}) {
    EXPECT_TRUE(t.contains(key)) << key;
  }
  for (const char* key : {"samples", "avg", "p50", "p90", "p99", "p999", "max"}) {
    EXPECT_TRUE(t.at("latency_ms").as_object().contains(key)) << key;
  }
  for (const char* key : {"min", "avg", "max", "messages_per_second"}) {
    EXPECT_TRUE(t.at("per_connection").as_object().contains(key)) << key;
  }
  EXPECT_EQ(t.at("server").as_object().at("pid").as_int64(), 4242);
  EXPECT_EQ(t.at("errors").as_int64(), 3);
  EXPECT_TRUE(t.at("event_time_in_milliseconds").as_bool());
  EXPECT_DOUBLE_EQ(t.at("ratio_to_first").as_object().at("messages_per_second").as_double(), 2.0);
  EXPECT_EQ(t.at("top_movers").as_array()[0].as_object().at("symbol").as_string(), "BTCUSDT");
}

TEST(Report, CsvHasAHeaderAndOneRowPerTarget) {
  const std::string csv = render_csv(sample_report(3));
  std::istringstream in(csv);
  std::string header, line;
  std::getline(in, header);
  std::vector<std::string> rows;
  while (std::getline(in, line)) rows.push_back(line);
  ASSERT_EQ(rows.size(), 3u);
  const auto columns = std::count(header.begin(), header.end(), ',');
  for (const auto& row : rows) EXPECT_EQ(std::count(row.begin(), row.end(), ','), columns) << row;
  EXPECT_EQ(header.rfind("impl,url,", 0), 0u);
  EXPECT_NE(header.find("latency_p99_ms"), std::string::npos);
  EXPECT_NE(header.find("server_cpu_percent"), std::string::npos);
  EXPECT_EQ(rows[1].rfind("other,", 0), 0u);
}

TEST(Report, TableShowsTargetsSideBySideWithRatios) {
  const std::string table = render_table(sample_report(2));
  EXPECT_NE(table.find("tickrelay"), std::string::npos);
  EXPECT_NE(table.find("other"), std::string::npos);
  EXPECT_NE(table.find("(2.00x)"), std::string::npos);  // messages/s of the second against the first
  EXPECT_NE(table.find("latency p99.9 (ms)"), std::string::npos);
  EXPECT_NE(table.find("server CPU %"), std::string::npos);
  EXPECT_NE(table.find("E in milliseconds"), std::string::npos);  // the note for the second target
  EXPECT_NE(table.find("top movers (tickrelay)"), std::string::npos);
  EXPECT_NE(table.find("client (this process): CPU 55.5 %"), std::string::npos);
}

TEST(Report, TableWithoutServerPidHasNoServerRows) {
  RunReport report = sample_report(1);
  report.targets[0].server_pid.reset();
  EXPECT_EQ(render_table(report).find("server CPU"), std::string::npos);
}

}  // namespace
}  // namespace tickrelay::client
