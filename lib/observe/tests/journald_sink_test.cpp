#include "journald_sink.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace tickrelay::observe {
namespace {

using Fields = std::vector<std::string>;

// The fields after MESSAGE, PRIORITY and SYSLOG_IDENTIFIER.
Fields extra(std::string_view message) {
  const auto all = JournaldSink::fields_for(message, 6, "tickrelayd");
  EXPECT_GE(all.size(), 3u);
  return Fields(all.begin() + std::min<std::size_t>(3, all.size()), all.end());
}

TEST(JournaldSink, StandardFieldsComeFirst) {
  const auto fields = JournaldSink::fields_for("upstream connected upstream=usdm shard=0", 6, "tickrelayd");
  ASSERT_GE(fields.size(), 3u);
  EXPECT_EQ(fields[0], "MESSAGE=upstream connected upstream=usdm shard=0");
  EXPECT_EQ(fields[1], "PRIORITY=6");
  EXPECT_EQ(fields[2], "SYSLOG_IDENTIFIER=tickrelayd");
}

TEST(JournaldSink, PlainMessageHasOnlyStandardFields) {
  const auto fields = JournaldSink::fields_for("relay started", 3, "x");
  EXPECT_EQ(fields, (Fields{"MESSAGE=relay started", "PRIORITY=3", "SYSLOG_IDENTIFIER=x"}));
}

TEST(JournaldSink, KeyValuePairsBecomeUpperCaseFields) {
  EXPECT_EQ(extra("upstream connected upstream=usdm-futures shard=1 streams=200"),
            (Fields{"UPSTREAM=usdm-futures", "SHARD=1", "STREAMS=200"}));
}

TEST(JournaldSink, QuotedValuesKeepTheirSpaces) {
  EXPECT_EQ(extra(R"(upstream failed upstream=spot reason="connection refused" retry_in=1.5s)"),
            (Fields{"UPSTREAM=spot", "REASON=connection refused", "RETRY_IN=1.5s"}));
  EXPECT_EQ(extra(R"(what="a=b c" next=1)"), (Fields{"WHAT=a=b c", "NEXT=1"}));
  EXPECT_EQ(extra(R"(empty="" x=1)"), (Fields{"EMPTY=", "X=1"}));
}

TEST(JournaldSink, UnterminatedQuoteRunsToTheEnd) {
  EXPECT_EQ(extra(R"(reason="no end here)"), (Fields{"REASON=no end here"}));
}

TEST(JournaldSink, KeyAtTheStartOfTheMessage) {
  EXPECT_EQ(extra("upstream=spot connected"), (Fields{"UPSTREAM=spot"}));
}

TEST(JournaldSink, EmptyValue) { EXPECT_EQ(extra("a= b=2"), (Fields{"A=", "B=2"})); }

TEST(JournaldSink, UnquotedValueMayHoldEquals) {
  EXPECT_EQ(extra("url=wss://h/stream?streams=a&timeUnit=MICROSECOND n=1"),
            (Fields{"URL=wss://h/stream?streams=a&timeUnit=MICROSECOND", "N=1"}));
}

TEST(JournaldSink, NotKeys) {
  // Upper-case keys, keys glued to other text, keys starting with a digit or
  // '_' (journald's trusted fields) and a bare '=' are not fields.
  EXPECT_TRUE(extra("Upstream=x").empty());
  EXPECT_TRUE(extra("a-b=1").empty());
  EXPECT_TRUE(extra("(x=1)").empty());
  EXPECT_TRUE(extra("1abc=2").empty());
  EXPECT_TRUE(extra("_pid=1").empty());
  EXPECT_TRUE(extra("= x").empty());
  EXPECT_TRUE(extra("a == b").empty());
  EXPECT_TRUE(extra("").empty());
}

TEST(JournaldSink, DigitsAndUnderscoresInsideKeys) {
  EXPECT_EQ(extra("p99_us=120 x2=y"), (Fields{"P99_US=120", "X2=y"}));
}

TEST(JournaldSink, IdentifierAndPriorityAsGiven) {
  const auto fields = JournaldSink::fields_for("m", 2, "tickrelay-sim");
  EXPECT_EQ(fields[1], "PRIORITY=2");
  EXPECT_EQ(fields[2], "SYSLOG_IDENTIFIER=tickrelay-sim");
}

}  // namespace
}  // namespace tickrelay::observe
