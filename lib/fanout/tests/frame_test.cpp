#include "tickrelay/fanout/frame.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tickrelay::fanout {
namespace {

using wire::frame_header_size;

std::string_view view(boost::asio::const_buffer b) { return {static_cast<const char*>(b.data()), b.size()}; }

// The payload length a server frame header announces (RFC 6455 5.2), and the
// header's size; fails the test on a masked or non-final frame.
std::pair<std::uint64_t, std::size_t> decode_header(std::string_view wire, std::uint8_t opcode = 0x1) {
  EXPECT_GE(wire.size(), 2u);
  EXPECT_EQ(static_cast<std::uint8_t>(wire[0]), 0x80 | opcode);
  const auto len7 = static_cast<std::uint8_t>(wire[1]);
  EXPECT_EQ(len7 & 0x80, 0) << "server frames are not masked";
  if (len7 < 126) return {len7, 2};
  if (len7 == 126) {
    return {(std::uint64_t(static_cast<std::uint8_t>(wire[2])) << 8) | static_cast<std::uint8_t>(wire[3]), 4};
  }
  std::uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n = (n << 8) | static_cast<std::uint8_t>(wire[2 + i]);
  return {n, 10};
}

// from_payload at each header-size boundary: both forms carry a complete
// frame whose header announces exactly the bytes that follow.
class FramePayloadSize : public ::testing::TestWithParam<std::size_t> {};

TEST_P(FramePayloadSize, FromPayloadWireBytes) {
  const std::size_t n = GetParam();
  std::string payload(n, 'x');
  if (n >= 2) {
    payload.front() = '{';
    payload.back() = '}';
  }
  const auto now = Clock::now();
  const auto frame = Frame::from_payload("btcusdt@trade", payload, 7, 1234, now);

  const auto raw = view(frame->raw_wire());
  const auto [raw_len, raw_hdr] = decode_header(raw);
  EXPECT_EQ(raw_hdr, frame_header_size(n));
  EXPECT_EQ(raw_len, n);
  EXPECT_EQ(raw.size(), raw_hdr + n);
  EXPECT_EQ(raw.substr(raw_hdr), payload);
  EXPECT_EQ(frame->raw_payload(), payload);

  const std::string envelope = "{\"stream\":\"btcusdt@trade\",\"data\":" + payload + "}";
  const auto env = view(frame->envelope_wire());
  const auto [env_len, env_hdr] = decode_header(env);
  EXPECT_EQ(env_hdr, frame_header_size(envelope.size()));
  EXPECT_EQ(env_len, envelope.size());
  EXPECT_EQ(env.substr(env_hdr), envelope);
  EXPECT_EQ(frame->envelope_payload(), envelope);

  EXPECT_EQ(view(frame->wire(false)), raw);
  EXPECT_EQ(view(frame->wire(true)), env);
  EXPECT_EQ(frame->stream(), 7u);
  EXPECT_EQ(frame->event_time_us(), 1234);
  EXPECT_EQ(frame->received(), now);
}

INSTANTIATE_TEST_SUITE_P(HeaderBoundaries, FramePayloadSize,
                         ::testing::Values(0, 1, 125, 126, 127, 65535, 65536, 70000));

// from_envelope: envelopes sized so that the envelope (not only the data)
// crosses each header boundary.
class FrameEnvelopeSize : public ::testing::TestWithParam<std::size_t> {};

TEST_P(FrameEnvelopeSize, FromEnvelopeRawIsTheDataSlice) {
  const std::size_t envelope_size = GetParam();
  const std::string head = "{\"stream\":\"btcusdt@kline_1h\",\"data\":";
  ASSERT_GT(envelope_size, head.size() + 4);
  const std::size_t data_size = envelope_size - head.size() - 1;
  const std::string data = "{\"p\":\"" + std::string(data_size - 8, '1') + "\"}";
  ASSERT_EQ(data.size(), data_size);
  const std::string envelope = head + data + "}";
  ASSERT_EQ(envelope.size(), envelope_size);

  const auto frame = Frame::from_envelope(envelope, head.size(), data.size(), 3, 99, Clock::time_point{});
  EXPECT_EQ(frame->envelope_payload(), envelope);
  EXPECT_EQ(frame->raw_payload(), data);

  const auto env = view(frame->envelope_wire());
  const auto [env_len, env_hdr] = decode_header(env);
  EXPECT_EQ(env_hdr, frame_header_size(envelope_size));
  EXPECT_EQ(env_len, envelope_size);
  EXPECT_EQ(env.size(), env_hdr + envelope_size);

  const auto raw = view(frame->raw_wire());
  const auto [raw_len, raw_hdr] = decode_header(raw);
  EXPECT_EQ(raw_hdr, frame_header_size(data_size));
  EXPECT_EQ(raw_len, data_size);
  EXPECT_EQ(raw.substr(raw_hdr), data);
  EXPECT_EQ(frame->stream(), 3u);
  EXPECT_EQ(frame->event_time_us(), 99);
}

INSTANTIATE_TEST_SUITE_P(HeaderBoundaries, FrameEnvelopeSize, ::testing::Values(125, 126, 65535, 65536, 65600));

TEST(Frame, FromEnvelopeWithDataNotLast) {
  const std::string envelope = R"({"data":{"e":"trade","t":1},"stream":"btcusdt@trade"})";
  const auto offset = envelope.find('{', 1);
  const auto size = envelope.find('}') + 1 - offset;
  const auto frame = Frame::from_envelope(envelope, offset, size, 0, 0, Clock::time_point{});
  EXPECT_EQ(frame->raw_payload(), R"({"e":"trade","t":1})");
  EXPECT_EQ(frame->envelope_payload(), envelope);
}

TEST(Frame, FromPayloadBuildsTheCombinedEnvelope) {
  const auto frame = Frame::from_payload("!miniTicker@arr", R"([{"e":"24hrMiniTicker"}])", 1, 0, Clock::time_point{});
  EXPECT_EQ(frame->envelope_payload(), R"({"stream":"!miniTicker@arr","data":[{"e":"24hrMiniTicker"}]})");
  EXPECT_EQ(frame->raw_payload(), R"([{"e":"24hrMiniTicker"}])");
  EXPECT_EQ(frame->event_time_us(), 0);
}

TEST(Frame, FromWireIsTheSameBytesInBothForms) {
  char header[2];
  wire::write_frame_header(header, 2, wire::Opcode::close);
  const std::string close = std::string(header, 2) + "\x03\xe8";  // 1000
  const auto frame = Frame::from_wire(close);
  EXPECT_EQ(view(frame->raw_wire()), close);
  EXPECT_EQ(view(frame->envelope_wire()), close);
  EXPECT_EQ(view(frame->wire(true)), view(frame->wire(false)));
  EXPECT_EQ(frame->stream(), kNoStream);
  EXPECT_EQ(frame->event_time_us(), 0);
}

TEST(Frame, FromWireEmpty) {
  const auto frame = Frame::from_wire("");
  EXPECT_EQ(frame->raw_wire().size(), 0u);
  EXPECT_EQ(frame->envelope_wire().size(), 0u);
}

TEST(Frame, FromTextFramesThePayloadForBothForms) {
  for (const std::size_t size : {std::size_t{0}, std::size_t{125}, std::size_t{126}, std::size_t{70000}}) {
    const std::string payload(size, 'p');
    const auto frame = Frame::from_text(payload);
    std::string expected(wire::frame_header_size(size), '\0');
    wire::write_frame_header(expected.data(), size);
    expected += payload;
    EXPECT_EQ(view(frame->raw_wire()), expected) << size;
    EXPECT_EQ(view(frame->envelope_wire()), expected) << size;
    EXPECT_EQ(frame->raw_payload(), payload) << size;
    EXPECT_EQ(frame->envelope_payload(), payload) << size;
    EXPECT_EQ(frame->stream(), kNoStream);
  }
}

TEST(Frame, CopiesItsInputs) {
  std::string payload = R"({"e":"trade"})";
  std::string name = "btcusdt@trade";
  const auto frame = Frame::from_payload(name, payload, 0, 0, Clock::time_point{});
  payload.assign(payload.size(), '#');
  name.assign(name.size(), '#');
  EXPECT_EQ(frame->raw_payload(), R"({"e":"trade"})");
  EXPECT_EQ(frame->envelope_payload(), R"({"stream":"btcusdt@trade","data":{"e":"trade"}})");
}

// Sharing: copies of the pointer share one allocation; the frame lives while
// any holder does and is freed with the last (LeakSanitizer in the sanitizer
// build reports a frame that is never freed).
TEST(Frame, ReferenceCountSharesAndFrees) {
  FramePtr last;
  {
    const auto frame = Frame::from_payload("btcusdt@trade", R"({"t":1})", 0, 0, Clock::time_point{});
    const Frame* address = frame.get();
    FramePtr a = frame;
    FramePtr b = a;
    EXPECT_EQ(a.get(), address);
    EXPECT_EQ(b.get(), address);
    last = b;
  }
  // Every other holder is gone; the bytes must still be readable.
  ASSERT_TRUE(last);
  EXPECT_EQ(last->raw_payload(), R"({"t":1})");
  last.reset();
  EXPECT_FALSE(last);

  for (int i = 0; i < 1000; ++i) {
    auto f = Frame::from_wire(std::string(100, 'x'));
    auto g = f;
    f.reset();
    EXPECT_EQ(g->raw_wire().size(), 100u);
  }
}

}  // namespace
}  // namespace tickrelay::fanout
