#include "send_queue.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace tickrelay::fanout {
namespace {

using fanout::Frame;
using fanout::FramePtr;

// A frame whose raw wire form is exactly `wire_bytes` long (2-byte header).
FramePtr frame_of_wire_size(std::size_t wire_bytes, char fill = 'x') {
  return Frame::from_wire(std::string(wire_bytes, fill));
}

constexpr auto kQueued = SendQueue::PushResult::queued;
constexpr auto kOverBound = SendQueue::PushResult::over_bound;

void push(SendQueue& q, const FramePtr& f) { ASSERT_EQ(q.push(f, f->raw_wire()), kQueued); }

TEST(SendQueue, StartsEmpty) {
  std::uint64_t gauge = 0;
  SendQueue q(100, gauge);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
  EXPECT_EQ(gauge, q.bytes());
  EXPECT_EQ(q.size(), 0u);
  EXPECT_EQ(q.in_flight(), 0u);
  EXPECT_FALSE(q.has_pending());
  std::vector<boost::asio::const_buffer> out;
  EXPECT_EQ(q.gather(out, 10), 0u);
  EXPECT_TRUE(out.empty());
  q.consume();
  EXPECT_TRUE(q.empty());
}

TEST(SendQueue, BoundInBytes) {
  std::uint64_t gauge = 0;
  SendQueue q(100, gauge);
  const auto f40 = frame_of_wire_size(40);
  EXPECT_EQ(q.push(f40, f40->raw_wire()), kQueued);
  EXPECT_EQ(q.push(f40, f40->raw_wire()), kQueued);
  EXPECT_EQ(q.bytes(), 80u);
  EXPECT_EQ(gauge, q.bytes());
  // 80 + 40 > 100: refused, and nothing was queued.
  EXPECT_EQ(q.push(f40, f40->raw_wire()), kOverBound);
  EXPECT_EQ(q.bytes(), 80u);
  EXPECT_EQ(gauge, q.bytes());
  EXPECT_EQ(q.size(), 2u);
  // Exactly up to the bound is accepted.
  const auto f20 = frame_of_wire_size(20);
  EXPECT_EQ(q.push(f20, f20->raw_wire()), kQueued);
  EXPECT_EQ(q.bytes(), 100u);
  EXPECT_EQ(gauge, q.bytes());
  const auto f1 = frame_of_wire_size(1);
  EXPECT_EQ(q.push(f1, f1->raw_wire()), kOverBound);
  EXPECT_EQ(q.size(), 3u);
}

TEST(SendQueue, FrameLargerThanTheBoundIsRefusedEvenWhenEmpty) {
  std::uint64_t gauge = 0;
  SendQueue q(10, gauge);
  const auto f = frame_of_wire_size(11);
  EXPECT_EQ(q.push(f, f->raw_wire()), kOverBound);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
  EXPECT_EQ(gauge, q.bytes());
}

TEST(SendQueue, PushControlIgnoresTheBound) {
  std::uint64_t gauge = 0;
  SendQueue q(50, gauge);
  const auto data = frame_of_wire_size(50);
  push(q, data);
  const auto close = frame_of_wire_size(4);
  q.push_control(close, close->raw_wire());
  EXPECT_EQ(q.bytes(), 54u);
  EXPECT_EQ(gauge, q.bytes());
  EXPECT_EQ(q.size(), 2u);
  // Still over the bound: ordinary pushes stay refused.
  const auto f1 = frame_of_wire_size(1);
  EXPECT_EQ(q.push(f1, f1->raw_wire()), kOverBound);
}

TEST(SendQueue, SetMaxBytes) {
  std::uint64_t gauge = 0;
  SendQueue q(10, gauge);
  const auto f = frame_of_wire_size(30);
  EXPECT_EQ(q.push(f, f->raw_wire()), kOverBound);
  q.set_max_bytes(30);
  EXPECT_EQ(q.push(f, f->raw_wire()), kQueued);
  q.set_max_bytes(5);  // shrinking below what is queued drops nothing
  EXPECT_EQ(q.bytes(), 30u);
  EXPECT_EQ(gauge, q.bytes());
  EXPECT_EQ(q.size(), 1u);
}

TEST(SendQueue, GatherLendsPendingBuffersInOrder) {
  std::uint64_t gauge = 0;
  SendQueue q(1000, gauge);
  const auto a = frame_of_wire_size(10, 'a');
  const auto b = frame_of_wire_size(20, 'b');
  const auto c = frame_of_wire_size(30, 'c');
  push(q, a);
  push(q, b);
  push(q, c);
  std::vector<boost::asio::const_buffer> out;
  ASSERT_EQ(q.gather(out, 2), 2u);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].data(), a->raw_wire().data());
  EXPECT_EQ(out[0].size(), 10u);
  EXPECT_EQ(out[1].data(), b->raw_wire().data());
  EXPECT_EQ(q.in_flight(), 2u);
  EXPECT_TRUE(q.has_pending());

  // A second gather while a write is in flight lends only what is left.
  ASSERT_EQ(q.gather(out, 10), 1u);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[2].data(), c->raw_wire().data());
  EXPECT_EQ(q.in_flight(), 3u);
  EXPECT_FALSE(q.has_pending());
  EXPECT_EQ(q.gather(out, 10), 0u);
  EXPECT_EQ(out.size(), 3u);
}

TEST(SendQueue, GatherAppendsToTheCallersVector) {
  std::uint64_t gauge = 0;
  SendQueue q(1000, gauge);
  const auto a = frame_of_wire_size(10);
  push(q, a);
  std::vector<boost::asio::const_buffer> out{boost::asio::buffer("hdr", 3)};
  EXPECT_EQ(q.gather(out, 5), 1u);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].size(), 3u);
  EXPECT_EQ(q.gather(out, 0), 0u);
}

TEST(SendQueue, ConsumeRetiresOnlyInFlightItems) {
  std::uint64_t gauge = 0;
  SendQueue q(1000, gauge);
  const auto a = frame_of_wire_size(10, 'a');
  const auto b = frame_of_wire_size(20, 'b');
  const auto c = frame_of_wire_size(30, 'c');
  push(q, a);
  push(q, b);
  std::vector<boost::asio::const_buffer> out;
  ASSERT_EQ(q.gather(out, 10), 2u);
  push(q, c);  // queued while the write is in flight

  std::vector<const Frame*> retired;
  q.consume([&](const FramePtr& f) { retired.push_back(f.get()); });
  ASSERT_EQ(retired.size(), 2u);
  EXPECT_EQ(retired[0], a.get());
  EXPECT_EQ(retired[1], b.get());
  EXPECT_EQ(q.in_flight(), 0u);
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.bytes(), 30u);
  EXPECT_EQ(gauge, q.bytes());
  EXPECT_TRUE(q.has_pending());

  out.clear();
  ASSERT_EQ(q.gather(out, 10), 1u);
  EXPECT_EQ(out[0].data(), c->raw_wire().data());
  q.consume();
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
  EXPECT_EQ(gauge, q.bytes());
}

TEST(SendQueue, ConsumeFreesRoomForMorePushes) {
  std::uint64_t gauge = 0;
  SendQueue q(100, gauge);
  const auto f = frame_of_wire_size(60);
  push(q, f);
  EXPECT_EQ(q.push(f, f->raw_wire()), kOverBound);
  std::vector<boost::asio::const_buffer> out;
  q.gather(out, 10);
  EXPECT_EQ(q.push(f, f->raw_wire()), kOverBound);  // in flight still counts
  q.consume();
  EXPECT_EQ(q.push(f, f->raw_wire()), kQueued);
}

TEST(SendQueue, DropPendingKeepsInFlight) {
  std::uint64_t gauge = 0;
  SendQueue q(1000, gauge);
  const auto a = frame_of_wire_size(10, 'a');
  const auto b = frame_of_wire_size(20, 'b');
  const auto c = frame_of_wire_size(30, 'c');
  push(q, a);
  push(q, b);
  std::vector<boost::asio::const_buffer> out;
  ASSERT_EQ(q.gather(out, 1), 1u);
  push(q, c);
  q.drop_pending();
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.in_flight(), 1u);
  EXPECT_EQ(q.bytes(), 10u);
  EXPECT_EQ(gauge, q.bytes());
  EXPECT_FALSE(q.has_pending());
  // The in-flight buffer still points at live bytes.
  EXPECT_EQ(std::string_view(static_cast<const char*>(out[0].data()), out[0].size()), std::string(10, 'a'));
  std::vector<const Frame*> retired;
  q.consume([&](const FramePtr& f) { retired.push_back(f.get()); });
  ASSERT_EQ(retired.size(), 1u);
  EXPECT_EQ(retired[0], a.get());
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
  EXPECT_EQ(gauge, q.bytes());
}

TEST(SendQueue, DropPendingWithNothingInFlightEmptiesTheQueue) {
  std::uint64_t gauge = 0;
  SendQueue q(1000, gauge);
  const auto a = frame_of_wire_size(10);
  push(q, a);
  push(q, a);
  q.push_control(a, a->raw_wire());
  q.drop_pending();
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
  EXPECT_EQ(gauge, q.bytes());
}

TEST(SendQueue, DropPendingDataKeepsControlFramesAndWhatIsInFlight) {
  std::uint64_t gauge = 0;
  SendQueue q(1000, gauge);
  const auto a = Frame::from_payload("s", "\"a\"", 0, 0, fanout::Clock::time_point{});
  const auto b = Frame::from_payload("s", "\"b\"", 0, 0, fanout::Clock::time_point{});
  const auto close = frame_of_wire_size(4);
  push(q, a);
  std::vector<boost::asio::const_buffer> out;
  ASSERT_EQ(q.gather(out, 1), 1u);
  push(q, b);
  q.push_control(close, close->raw_wire());
  push(q, b);
  q.drop_pending_data();
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.bytes(), a->raw_wire().size() + 4);
  EXPECT_EQ(gauge, q.bytes());
  q.consume();
  out.clear();
  ASSERT_EQ(q.gather(out, 10), 1u);
  EXPECT_EQ(out[0].data(), close->raw_wire().data());
}

TEST(SendQueue, HoldsReferencesNotCopies) {
  std::uint64_t gauge = 0;
  SendQueue q(1000, gauge);
  std::vector<boost::asio::const_buffer> out;
  {
    auto f = Frame::from_payload("btcusdt@trade", R"({"t":1})", 0, 0, fanout::Clock::time_point{});
    ASSERT_EQ(q.push(f, f->envelope_wire()), kQueued);
    EXPECT_EQ(q.bytes(), f->envelope_wire().size());
    EXPECT_EQ(gauge, q.bytes());
  }
  // The queue's reference keeps the frame alive after the caller's is gone.
  ASSERT_EQ(q.gather(out, 1), 1u);
  const std::string_view wire(static_cast<const char*>(out[0].data()), out[0].size());
  EXPECT_NE(wire.find(R"("data":{"t":1})"), std::string_view::npos);
  q.consume();
}

TEST(SendQueue, BytesFollowTheWireFormPushed) {
  std::uint64_t gauge = 0;
  SendQueue q(10000, gauge);
  const auto f = Frame::from_payload("btcusdt@trade", R"({"t":1})", 0, 0, fanout::Clock::time_point{});
  ASSERT_EQ(q.push(f, f->raw_wire()), kQueued);
  ASSERT_EQ(q.push(f, f->envelope_wire()), kQueued);
  EXPECT_EQ(q.bytes(), f->raw_wire().size() + f->envelope_wire().size());
  EXPECT_EQ(gauge, q.bytes());
  std::vector<boost::asio::const_buffer> out;
  q.gather(out, 1);
  q.consume();
  EXPECT_EQ(q.bytes(), f->envelope_wire().size());
  EXPECT_EQ(gauge, q.bytes());
}

TEST(SendQueue, GaugeFollowsEveryPushConsumeAndDrop) {
  std::uint64_t gauge = 0;
  SendQueue q(100, gauge);
  const auto f30 = frame_of_wire_size(30);
  push(q, f30);
  push(q, f30);
  EXPECT_EQ(gauge, 60u);
  // A refused push leaves the gauge alone.
  EXPECT_EQ(q.push(f30, f30->raw_wire()), SendQueue::PushResult::queued);
  EXPECT_EQ(q.push(f30, f30->raw_wire()), SendQueue::PushResult::over_bound);
  EXPECT_EQ(gauge, 90u);
  q.push_control(f30, f30->raw_wire());
  EXPECT_EQ(gauge, 120u);
  std::vector<boost::asio::const_buffer> out;
  q.gather(out, 1);
  EXPECT_EQ(gauge, 120u);  // in flight is still queued
  q.drop_pending();
  EXPECT_EQ(gauge, 30u);
  q.consume();
  EXPECT_EQ(gauge, 0u);
}

TEST(SendQueue, GaugeIsTheSumOverQueues) {
  std::uint64_t gauge = 0;
  SendQueue a(100, gauge);
  SendQueue b(100, gauge);
  const auto f = frame_of_wire_size(25);
  push(a, f);
  push(b, f);
  push(b, f);
  EXPECT_EQ(gauge, 75u);
  std::vector<boost::asio::const_buffer> out;
  b.gather(out, 10);
  b.consume();
  EXPECT_EQ(gauge, 25u);
}

TEST(SendQueue, DestructionReturnsWhatWasQueuedToTheGauge) {
  std::uint64_t gauge = 7;  // other clients' bytes
  {
    SendQueue q(1000, gauge);
    const auto f = frame_of_wire_size(40);
    push(q, f);
    push(q, f);
    std::vector<boost::asio::const_buffer> out;
    q.gather(out, 1);
    EXPECT_EQ(gauge, 87u);
  }
  EXPECT_EQ(gauge, 7u);
}

}  // namespace
}  // namespace tickrelay::fanout
