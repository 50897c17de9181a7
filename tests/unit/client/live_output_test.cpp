#include "live_output.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace tickrelay::client {
namespace {

std::string written(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string out;
  char buf[4096];
  while (const std::size_t n = std::fread(buf, 1, sizeof buf, f)) out.append(buf, n);
  return out;
}

std::vector<LiveFigures> figures() { return {LiveFigures{"relay", 98, 100, 12345.0, 0.25, 1.5, 2}}; }

TEST(LiveOutput, StatusNamesTheFigures) {
  const std::string line = LiveOutput::format_status(3.0, figures());
  for (const char* part : {"relay", "98/100", "12345 msg/s", "p50 0.250 ms", "p99 1.500 ms", "errors 2"}) {
    EXPECT_NE(line.find(part), std::string::npos) << part << " in " << line;
  }
}

TEST(LiveOutput, PlainLinesWhenNotATerminal) {
  std::FILE* f = std::tmpfile();
  LiveOutput live(f, /*terminal=*/false, /*quiet=*/false);
  live.status(1.0, figures());
  live.status(2.0, figures());
  const std::string out = written(f);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2);
  EXPECT_EQ(out.find('\r'), std::string::npos);
  std::fclose(f);
}

TEST(LiveOutput, RewrittenLineOnATerminal) {
  std::FILE* f = std::tmpfile();
  LiveOutput live(f, /*terminal=*/true, /*quiet=*/false);
  live.status(1.0, figures());
  live.status(2.0, figures());
  live.alert("alert: BTCUSDT +5.00 %");
  live.status(3.0, figures());
  live.finish();
  const std::string out = written(f);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\r'), 4);  // three rewrites, one clear before the alert
  EXPECT_NE(out.find("\x1b[K"), std::string::npos);
  EXPECT_NE(out.find("alert: BTCUSDT +5.00 %\n"), std::string::npos);
  EXPECT_EQ(out.back(), '\n');
  std::fclose(f);
}

TEST(LiveOutput, QuietPrintsNoStatusButStillAlerts) {
  std::FILE* f = std::tmpfile();
  LiveOutput live(f, false, /*quiet=*/true);
  live.status(1.0, figures());
  live.alert("alert: X");
  live.finish();
  EXPECT_EQ(written(f), "alert: X\n");
  std::fclose(f);
}

}  // namespace
}  // namespace tickrelay::client
