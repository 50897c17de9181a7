#include "upstream/ingest.hpp"

#include <gtest/gtest.h>

#include "fake_connection.hpp"
#include "tickrelay/fanout/relay_counters.hpp"
#include "tickrelay/fanout/router.hpp"
#include "tickrelay/fanout/stream_name.hpp"

namespace tickrelay::upstream {
namespace {

using Type = relay::ParsedFrame::Type;
using test::agg_trade;

class IngestTest : public ::testing::Test {
 protected:
  IngestTest() {
    const auto name = fanout::parse_stream_name("btcusdt@aggTrade");
    stream_ = router_.add_stream("btcusdt@aggTrade", name->kind, false);
  }
  Type process(std::uint64_t connection, const std::string& message) {
    return ingest_.process(connection, message.data(), message.size(), message.size(), Ingest::Clock::now());
  }

  fanout::Router router_;
  fanout::RelayCounters counters_;
  Ingest ingest_{router_, counters_};
  fanout::StreamId stream_ = fanout::kNoStream;
};

TEST_F(IngestTest, EventIsPublishedAndCounted) {
  const auto message = agg_trade("btcusdt@aggTrade", 1000, 1);
  EXPECT_EQ(process(1, message), Type::event);
  EXPECT_EQ(router_.published(), 1u);
  EXPECT_EQ(counters_.upstream_messages, 1u);
  EXPECT_EQ(counters_.upstream_bytes, message.size());
}

TEST_F(IngestTest, MalformedFrameIsCountedAndSkipped) {
  EXPECT_EQ(process(1, R"({"stream":"btcusdt@aggTrade","data":)"), Type::malformed);
  EXPECT_EQ(process(1, "not json at all"), Type::malformed);
  EXPECT_EQ(counters_.upstream_malformed, 2u);
  EXPECT_EQ(router_.published(), 0u);
  // The next good frame still goes through.
  EXPECT_EQ(process(1, agg_trade("btcusdt@aggTrade", 1000, 1)), Type::event);
  EXPECT_EQ(router_.published(), 1u);
}

TEST_F(IngestTest, SameEventOnTwoConnectionsIsPublishedOnce) {
  EXPECT_EQ(process(1, agg_trade("btcusdt@aggTrade", 1000, 1)), Type::event);
  EXPECT_EQ(process(2, agg_trade("btcusdt@aggTrade", 1000, 1)), Type::event);
  EXPECT_EQ(process(2, agg_trade("btcusdt@aggTrade", 1001, 2)), Type::event);
  EXPECT_EQ(process(1, agg_trade("btcusdt@aggTrade", 1001, 2)), Type::event);
  EXPECT_EQ(router_.published(), 2u);
  EXPECT_EQ(counters_.upstream_duplicates, 2u);
}

TEST_F(IngestTest, UnknownOrRetiredStreamIsCountedAndSkipped) {
  EXPECT_EQ(process(1, agg_trade("ethusdt@aggTrade", 1000, 1)), Type::event);
  EXPECT_EQ(counters_.upstream_unknown_stream, 1u);
  router_.retire_stream(stream_);
  EXPECT_EQ(process(1, agg_trade("btcusdt@aggTrade", 1000, 1)), Type::event);
  EXPECT_EQ(counters_.upstream_unknown_stream, 2u);
  EXPECT_EQ(router_.published(), 0u);
}

TEST_F(IngestTest, ResponsesAndServerShutdownAreReportedNotPublished) {
  EXPECT_EQ(process(1, R"({"result":null,"id":1})"), Type::response);
  EXPECT_EQ(process(1, R"({"e":"serverShutdown","E":1770123456789})"), Type::server_shutdown);
  EXPECT_EQ(router_.published(), 0u);
  EXPECT_EQ(counters_.upstream_malformed, 0u);
}

}  // namespace
}  // namespace tickrelay::upstream
