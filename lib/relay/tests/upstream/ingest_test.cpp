#include "upstream/ingest.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "fake_connection.hpp"
#include "tickrelay/fanout/relay_counters.hpp"
#include "tickrelay/fanout/router.hpp"
#include "tickrelay/fanout/stream_catalog.hpp"
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

// A subscriber that keeps what it is given.
struct Keeper final : fanout::Subscriber {
  std::vector<std::string> payloads;
  std::map<fanout::StreamId, fanout::SubscriberSlot> slots;
  void deliver(const fanout::FramePtr& frame) override { payloads.emplace_back(frame->raw_payload()); }
  fanout::SubscriberSlot slot(fanout::StreamId id) const override {
    const auto it = slots.find(id);
    return it == slots.end() ? fanout::kNoSlot : it->second;
  }
  void set_slot(fanout::StreamId id, fanout::SubscriberSlot slot) override { slots[id] = slot; }
};

std::string kline_event(std::int64_t event_time, std::int64_t open, std::int64_t close) {
  return R"({"e":"kline","E":)" + std::to_string(event_time) + R"(,"s":"BTCUSDT","k":{"t":)" + std::to_string(open) +
         R"(,"T":)" + std::to_string(close) + R"(,"i":"1m","f":1,"L":2}})";
}
std::string kline(std::int64_t event_time, std::int64_t open, std::int64_t close) {
  return R"({"stream":"btcusdt@kline_1m","data":)" + kline_event(event_time, open, close) + "}";
}

// Each stream is read in one unit; clients of the other get it rendered.
class IngestFormsTest : public ::testing::Test {
 protected:
  IngestFormsTest() {
    kline_ = router_.add_stream("btcusdt@kline_1m", fanout::StreamKind::kline, true);
    book_ = router_.add_stream("btcusdt@bookTicker", fanout::StreamKind::book_ticker, true);
    ingest_.declare(kline_, TimeUnit::microsecond, "/market");
    ingest_.declare(book_, TimeUnit::microsecond, "/public");
  }
  void process(const std::string& message) {
    ingest_.process(1, message.data(), message.size(), message.size(), Ingest::Clock::now());
  }

  fanout::Router router_;
  fanout::RelayCounters counters_;
  Ingest ingest_{router_, counters_};
  fanout::StreamId kline_ = fanout::kNoStream;
  fanout::StreamId book_ = fanout::kNoStream;
};

TEST_F(IngestFormsTest, ClientsOfEachUnitGetTheirUnitFromOneUpstreamMessage) {
  const auto us = ingest_.client_form(kline_, "", TimeUnit::microsecond);
  const auto ms = ingest_.client_form(kline_, "", TimeUnit::millisecond);
  EXPECT_EQ(us, kline_);
  ASSERT_NE(ms, kline_);
  EXPECT_EQ(ingest_.client_form(kline_, "/market", TimeUnit::millisecond), ms);  // made once
  Keeper micro;
  Keeper milli;
  router_.subscribe(us, &micro);
  router_.subscribe(ms, &milli);
  process(kline(1770000000123456, 1769999940000000, 1769999999999999));
  ASSERT_EQ(micro.payloads.size(), 1u);
  ASSERT_EQ(milli.payloads.size(), 1u);
  EXPECT_EQ(micro.payloads[0], kline_event(1770000000123456, 1769999940000000, 1769999999999999));
  EXPECT_EQ(milli.payloads[0], kline_event(1770000000123, 1769999940000, 1769999999999));
  // The envelope names the stream as the client asked for it.
  EXPECT_NE(router_.last_value(ms)->envelope_payload().find(R"("stream":"btcusdt@kline_1m")"), std::string::npos);
  EXPECT_EQ(router_.carried_count(), 2u);  // a unit's form is not another stream
  EXPECT_EQ(ingest_.subscriber_count(kline_), 2u);
}

TEST_F(IngestFormsTest, OtherUnitIsNotRenderedWhileNobodyWantsIt) {
  const auto ms = ingest_.client_form(kline_, "", TimeUnit::millisecond);
  process(kline(1770000000123456, 1, 2));
  EXPECT_EQ(router_.published(), 1u);
  // A newcomer still gets the latest value, in its unit.
  EXPECT_EQ(ingest_.client_form(kline_, "", TimeUnit::millisecond), ms);
  ASSERT_TRUE(router_.last_value(ms));
  EXPECT_EQ(router_.last_value(ms)->raw_payload(), kline_event(1770000000123, 0, 0));
}

TEST_F(IngestFormsTest, MessageInTheUndeclaredUnitIsRenderedForEveryClient) {
  // The server ignored timeUnit (or a reload changed it): milliseconds come
  // in on a stream declared in microseconds.
  const auto ms = ingest_.client_form(kline_, "", TimeUnit::millisecond);
  Keeper micro;
  Keeper milli;
  router_.subscribe(kline_, &micro);
  router_.subscribe(ms, &milli);
  process(kline(1770000000123, 1769999940000, 1769999999999));
  ASSERT_EQ(micro.payloads.size(), 1u);
  ASSERT_EQ(milli.payloads.size(), 1u);
  EXPECT_EQ(micro.payloads[0], kline_event(1770000000123000, 1769999940000000, 1769999999999000));
  EXPECT_EQ(milli.payloads[0], kline_event(1770000000123, 1769999940000, 1769999999999));
}

TEST_F(IngestFormsTest, EventWithoutTimesIsSharedByBothUnits) {
  const auto ms = ingest_.client_form(book_, "", TimeUnit::millisecond);
  Keeper milli;
  router_.subscribe(ms, &milli);
  process(R"({"stream":"btcusdt@bookTicker","data":{"u":7,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1"}})");
  ASSERT_EQ(milli.payloads.size(), 1u);
  EXPECT_EQ(milli.payloads[0], R"({"u":7,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1"})");
}

TEST_F(IngestFormsTest, EventThatCannotBeRenderedIsCountedAndOthersStillFlow) {
  const auto ms = ingest_.client_form(kline_, "", TimeUnit::millisecond);
  const auto us = ingest_.client_form(kline_, "", TimeUnit::microsecond);
  Keeper milli;
  Keeper micro;
  router_.subscribe(ms, &milli);
  router_.subscribe(us, &micro);
  // Milliseconds past what microseconds can hold: the millisecond form is
  // the message as it came, the declared microsecond form cannot be made.
  process(R"({"stream":"btcusdt@kline_1m","data":{"e":"kline","E":1770000000123,"k":{"t":99999999999999999}}})");
  EXPECT_EQ(counters_.upstream_malformed, 1u);
  EXPECT_EQ(micro.payloads.size(), 0u);
  EXPECT_EQ(milli.payloads.size(), 1u);
  process(kline(1770000000123456, 1, 2));
  EXPECT_EQ(micro.payloads.size(), 1u);
  EXPECT_EQ(milli.payloads.size(), 2u);
}

TEST_F(IngestFormsTest, UsdmPathsCarryTheirOwnStreamsAndPrivateCarriesNone) {
  EXPECT_EQ(ingest_.client_form(kline_, "/market", TimeUnit::microsecond), kline_);
  EXPECT_EQ(ingest_.client_form(kline_, "/public", TimeUnit::microsecond), fanout::kSilentStream);
  EXPECT_EQ(ingest_.client_form(book_, "/public", TimeUnit::microsecond), book_);
  EXPECT_EQ(ingest_.client_form(book_, "/market", TimeUnit::microsecond), fanout::kSilentStream);
  EXPECT_EQ(ingest_.client_form(book_, "/private", TimeUnit::microsecond), fanout::kSilentStream);
  // The root serves every stream (programs written before the paths split).
  EXPECT_EQ(ingest_.client_form(kline_, "", TimeUnit::microsecond), kline_);
  EXPECT_EQ(ingest_.client_form(book_, "", TimeUnit::microsecond), book_);
  // A spot stream (carried at the root) is served under any market path.
  const auto spot = router_.add_stream("btcusdt@trade", fanout::StreamKind::trade, false);
  ingest_.declare(spot, TimeUnit::microsecond, "");
  EXPECT_EQ(ingest_.client_form(spot, "/public", TimeUnit::microsecond), spot);
  EXPECT_EQ(ingest_.client_form(spot, "/private", TimeUnit::microsecond), fanout::kSilentStream);
}

TEST_F(IngestFormsTest, DeclaredUnitIsTheFirstOne) {
  ingest_.declare(kline_, TimeUnit::millisecond, "/market");
  EXPECT_EQ(ingest_.client_form(kline_, "", TimeUnit::microsecond), kline_);
  EXPECT_NE(ingest_.client_form(kline_, "", TimeUnit::millisecond), kline_);
}

}  // namespace
}  // namespace tickrelay::upstream
