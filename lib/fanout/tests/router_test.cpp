#include "tickrelay/fanout/router.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <stdexcept>
#include <vector>

namespace tickrelay::fanout {
namespace {

class RecordingSubscriber : public Subscriber {
 public:
  void deliver(const FramePtr& frame) override {
    frames.push_back(frame);
    if (on_deliver) on_deliver(frame);
  }
  SubscriberSlot slot(StreamId stream) const override {
    const auto it = slots.find(stream);
    return it == slots.end() ? kNoSlot : it->second;
  }
  void set_slot(StreamId stream, SubscriberSlot slot) override { slots[stream] = slot; }
  std::map<StreamId, SubscriberSlot> slots;
  std::vector<FramePtr> frames;
  std::function<void(const FramePtr&)> on_deliver;
};

FramePtr frame_for(StreamId id, std::string_view payload = R"({"e":"x"})") {
  return Frame::from_payload("s", payload, id, 0, Clock::time_point{});
}

TEST(Router, AddStreamIsIdempotentAndFindable) {
  Router router;
  EXPECT_EQ(router.find("btcusdt@trade"), kNoStream);
  const auto a = router.add_stream("btcusdt@trade", StreamKind::trade, false);
  const auto b = router.add_stream("btcusdt@kline_1h", StreamKind::kline, true);
  EXPECT_NE(a, b);
  EXPECT_EQ(router.add_stream("btcusdt@trade", StreamKind::trade, false), a);
  EXPECT_EQ(router.find("btcusdt@trade"), a);
  EXPECT_EQ(router.find("btcusdt@kline_1h"), b);
  EXPECT_EQ(router.find("btcusdt@kline_1m"), kNoStream);
  EXPECT_EQ(router.find(""), kNoStream);
  EXPECT_EQ(router.name(a), "btcusdt@trade");
  EXPECT_EQ(router.kind(b), StreamKind::kline);
  EXPECT_EQ(router.stream_count(), 2u);
  EXPECT_EQ(router.carried_count(), 2u);
  EXPECT_TRUE(router.carried(a));
  EXPECT_FALSE(router.carried(kNoStream));
  EXPECT_FALSE(router.carried(2));
}

TEST(Router, PublishReachesOnlyThatStreamsSubscribers) {
  Router router;
  const auto trade = router.add_stream("btcusdt@trade", StreamKind::trade, false);
  const auto kline = router.add_stream("btcusdt@kline_1h", StreamKind::kline, false);
  RecordingSubscriber a, b, c;
  router.subscribe(trade, &a);
  router.subscribe(trade, &b);
  router.subscribe(kline, &c);
  EXPECT_EQ(router.subscriber_count(trade), 2u);
  EXPECT_EQ(router.subscriber_count(kline), 1u);

  const auto f = frame_for(trade);
  router.publish(f);
  ASSERT_EQ(a.frames.size(), 1u);
  ASSERT_EQ(b.frames.size(), 1u);
  EXPECT_TRUE(c.frames.empty());
  // One frame shared, never copied.
  EXPECT_EQ(a.frames[0].get(), f.get());
  EXPECT_EQ(b.frames[0].get(), f.get());

  router.publish(frame_for(kline));
  EXPECT_EQ(a.frames.size(), 1u);
  EXPECT_EQ(c.frames.size(), 1u);
}

TEST(Router, PublishWithoutSubscribersIsFine) {
  Router router;
  const auto id = router.add_stream("btcusdt@trade", StreamKind::trade, false);
  router.publish(frame_for(id));
  EXPECT_FALSE(router.last_value(id));
}

TEST(Router, SubscriberOnSeveralStreams) {
  Router router;
  const auto x = router.add_stream("x@trade", StreamKind::trade, false);
  const auto y = router.add_stream("y@trade", StreamKind::trade, false);
  RecordingSubscriber s;
  router.subscribe(x, &s);
  router.subscribe(y, &s);
  router.publish(frame_for(x));
  router.publish(frame_for(y));
  ASSERT_EQ(s.frames.size(), 2u);
  EXPECT_EQ(s.frames[0]->stream(), x);
  EXPECT_EQ(s.frames[1]->stream(), y);
}

TEST(Router, UnsubscribeStopsDeliveryToThatSubscriberOnly) {
  Router router;
  const auto id = router.add_stream("btcusdt@trade", StreamKind::trade, false);
  RecordingSubscriber a, b, c;
  router.subscribe(id, &a);
  router.subscribe(id, &b);
  router.subscribe(id, &c);
  router.unsubscribe(id, &a);
  EXPECT_EQ(router.subscriber_count(id), 2u);
  router.publish(frame_for(id));
  EXPECT_TRUE(a.frames.empty());
  EXPECT_EQ(b.frames.size(), 1u);
  EXPECT_EQ(c.frames.size(), 1u);

  // Unsubscribing someone who is not subscribed changes nothing.
  router.unsubscribe(id, &a);
  EXPECT_EQ(router.subscriber_count(id), 2u);
  router.unsubscribe(id, &c);
  router.unsubscribe(id, &b);
  EXPECT_EQ(router.subscriber_count(id), 0u);
  router.publish(frame_for(id));
  EXPECT_EQ(b.frames.size(), 1u);
  EXPECT_EQ(c.frames.size(), 1u);
}

TEST(Router, LastValueKeptOnlyWhenReplayIsOn) {
  Router router;
  const auto replayed = router.add_stream("btcusdt@kline_1h", StreamKind::kline, true);
  const auto plain = router.add_stream("btcusdt@trade", StreamKind::trade, false);
  EXPECT_FALSE(router.last_value(replayed));

  const auto f1 = frame_for(replayed, R"({"n":1})");
  const auto f2 = frame_for(replayed, R"({"n":2})");
  router.publish(f1);
  EXPECT_EQ(router.last_value(replayed).get(), f1.get());
  router.publish(f2);
  EXPECT_EQ(router.last_value(replayed).get(), f2.get());

  router.publish(frame_for(plain));
  EXPECT_FALSE(router.last_value(plain));
}

TEST(Router, SetReplay) {
  Router router;
  const auto id = router.add_stream("btcusdt@kline_1h", StreamKind::kline, true);
  router.publish(frame_for(id));
  ASSERT_TRUE(router.last_value(id));
  router.set_replay(id, false);
  EXPECT_FALSE(router.last_value(id));  // turning replay off drops the kept value
  router.publish(frame_for(id));
  EXPECT_FALSE(router.last_value(id));
  router.set_replay(id, true);
  EXPECT_FALSE(router.last_value(id));
  const auto f = frame_for(id);
  router.publish(f);
  EXPECT_EQ(router.last_value(id).get(), f.get());
}

TEST(Router, AddStreamAgainUpdatesReplay) {
  Router router;
  const auto id = router.add_stream("btcusdt@kline_1h", StreamKind::kline, false);
  router.publish(frame_for(id));
  EXPECT_FALSE(router.last_value(id));
  EXPECT_EQ(router.add_stream("btcusdt@kline_1h", StreamKind::kline, true), id);
  router.publish(frame_for(id));
  EXPECT_TRUE(router.last_value(id));
}

TEST(Router, RetireStreamDropsLastValueKeepsSubscribers) {
  Router router;
  const auto id = router.add_stream("btcusdt@kline_1h", StreamKind::kline, true);
  const auto other = router.add_stream("ethusdt@kline_1h", StreamKind::kline, true);
  RecordingSubscriber a, b;
  router.subscribe(id, &a);
  router.subscribe(id, &b);
  router.publish(frame_for(id));
  ASSERT_TRUE(router.last_value(id));

  const auto subscribers = router.retire_stream(id);
  EXPECT_EQ(subscribers.size(), 2u);
  EXPECT_NE(std::find(subscribers.begin(), subscribers.end(), &a), subscribers.end());
  EXPECT_NE(std::find(subscribers.begin(), subscribers.end(), &b), subscribers.end());
  EXPECT_FALSE(router.carried(id));
  EXPECT_TRUE(router.carried(other));
  EXPECT_EQ(router.carried_count(), 1u);
  EXPECT_FALSE(router.last_value(id));
  // Subscribers stay until they unsubscribe; the name stays findable.
  EXPECT_EQ(router.subscriber_count(id), 2u);
  EXPECT_EQ(router.find("btcusdt@kline_1h"), id);

  // Adding it back carries it again under the same id.
  EXPECT_EQ(router.add_stream("btcusdt@kline_1h", StreamKind::kline, true), id);
  EXPECT_TRUE(router.carried(id));
  EXPECT_EQ(router.carried_count(), 2u);
}

TEST(Router, SubscribeFromInsideDeliverThrows) {
  Router router;
  const auto id = router.add_stream("btcusdt@trade", StreamKind::trade, false);
  const auto other = router.add_stream("ethusdt@trade", StreamKind::trade, false);
  RecordingSubscriber s, late;
  s.on_deliver = [&](const FramePtr&) { router.subscribe(other, &late); };
  router.subscribe(id, &s);
  EXPECT_THROW(router.publish(frame_for(id)), std::logic_error);
  EXPECT_EQ(router.subscriber_count(other), 0u);
}

// Unsubscribing moves the last subscriber into the gap; every slot the
// router hands out stays true, over many subscribers and streams, in any
// order of leaving (a mass disconnect).
TEST(Router, SlotsStayTrueWhileManySubscribersLeaveInAnyOrder) {
  Router router;
  const auto x = router.add_stream("btcusdt@trade", StreamKind::trade, false);
  const auto y = router.add_stream("ethusdt@trade", StreamKind::trade, false);
  std::vector<RecordingSubscriber> subs(200);
  for (auto& s : subs) {
    router.subscribe(x, &s);
    router.subscribe(y, &s);
  }
  // Every third leaves x, from the middle outwards; every fifth leaves y.
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < subs.size(); i += 3) order.push_back(i);
  std::rotate(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(order.size() / 2), order.end());
  for (const auto i : order) router.unsubscribe(x, &subs[i]);
  for (std::size_t i = 0; i < subs.size(); i += 5) router.unsubscribe(y, &subs[i]);
  EXPECT_EQ(router.subscriber_count(x), subs.size() - order.size());
  EXPECT_EQ(router.subscriber_count(y), subs.size() - 40);
  router.publish(frame_for(x));
  router.publish(frame_for(y));
  for (std::size_t i = 0; i < subs.size(); ++i) {
    const std::size_t expected = (i % 3 == 0 ? 0 : 1) + (i % 5 == 0 ? 0 : 1);
    EXPECT_EQ(subs[i].frames.size(), expected) << "subscriber " << i;
    EXPECT_EQ(subs[i].slot(x) == kNoSlot, i % 3 == 0) << "subscriber " << i;
  }
  // Everyone leaves; the lists end empty.
  for (auto& s : subs) {
    router.unsubscribe(x, &s);
    router.unsubscribe(y, &s);
  }
  EXPECT_EQ(router.subscriber_count(x), 0u);
  EXPECT_EQ(router.subscriber_count(y), 0u);
}

TEST(Router, UnsubscribeFromInsideDeliverThrows) {
  Router router;
  const auto id = router.add_stream("btcusdt@trade", StreamKind::trade, false);
  RecordingSubscriber s;
  s.on_deliver = [&](const FramePtr&) { router.unsubscribe(id, &s); };
  router.subscribe(id, &s);
  EXPECT_THROW(router.publish(frame_for(id)), std::logic_error);
  EXPECT_EQ(router.subscriber_count(id), 1u);
}

TEST(Router, AddAndRetireFromInsideDeliverThrow) {
  Router router;
  const auto id = router.add_stream("btcusdt@trade", StreamKind::trade, false);
  RecordingSubscriber adder;
  adder.on_deliver = [&](const FramePtr&) { router.add_stream("new@trade", StreamKind::trade, false); };
  router.subscribe(id, &adder);
  EXPECT_THROW(router.publish(frame_for(id)), std::logic_error);
  EXPECT_EQ(router.find("new@trade"), kNoStream);

  Router second;
  const auto s2 = second.add_stream("btcusdt@trade", StreamKind::trade, false);
  RecordingSubscriber retirer;
  retirer.on_deliver = [&](const FramePtr&) { second.retire_stream(s2); };
  second.subscribe(s2, &retirer);
  EXPECT_THROW(second.publish(frame_for(s2)), std::logic_error);
  EXPECT_TRUE(second.carried(s2));
}

// The refusal is loud but leaves the router usable: after the exception
// leaves publish(), subscriptions can change again.
TEST(Router, RefusedReentryDoesNotWedgeTheRouter) {
  Router router;
  const auto id = router.add_stream("btcusdt@trade", StreamKind::trade, false);
  RecordingSubscriber s, other;
  bool reenter = true;
  s.on_deliver = [&](const FramePtr&) {
    if (reenter) router.subscribe(id, &other);
  };
  router.subscribe(id, &s);
  EXPECT_THROW(router.publish(frame_for(id)), std::logic_error);
  reenter = false;
  EXPECT_NO_THROW(router.subscribe(id, &other));
  EXPECT_NO_THROW(router.unsubscribe(id, &s));
  router.publish(frame_for(id));
  EXPECT_EQ(other.frames.size(), 1u);
}

TEST(Router, ChangesAfterPublishAreAllowed) {
  Router router;
  const auto id = router.add_stream("btcusdt@trade", StreamKind::trade, false);
  RecordingSubscriber s;
  router.subscribe(id, &s);
  router.publish(frame_for(id));
  EXPECT_NO_THROW(router.unsubscribe(id, &s));
  EXPECT_NO_THROW(router.subscribe(id, &s));
  EXPECT_NO_THROW(router.retire_stream(id));
}

}  // namespace
}  // namespace tickrelay::fanout
