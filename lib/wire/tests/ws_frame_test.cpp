#include "tickrelay/wire/ws_frame.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace tickrelay::wire {
namespace {

std::vector<std::uint8_t> server_frame(std::uint8_t first, const std::string& payload) {
  std::vector<std::uint8_t> out{first};
  if (payload.size() < 126) {
    out.push_back(static_cast<std::uint8_t>(payload.size()));
  } else if (payload.size() <= 0xffff) {
    out.push_back(126);
    out.push_back(static_cast<std::uint8_t>(payload.size() >> 8));
    out.push_back(static_cast<std::uint8_t>(payload.size()));
  } else {
    out.push_back(127);
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(payload.size() >> shift));
  }
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

TEST(WsFrame, ServerHeaderSizeAtLengthBoundaries) {
  EXPECT_EQ(frame_header_size(0), 2u);
  EXPECT_EQ(frame_header_size(125), 2u);
  EXPECT_EQ(frame_header_size(126), 4u);
  EXPECT_EQ(frame_header_size(65535), 4u);
  EXPECT_EQ(frame_header_size(65536), 10u);
  EXPECT_EQ(frame_header_size(std::size_t{1} << 32), 10u);
}

TEST(WsFrame, ServerHeaderBytes) {
  char out[10] = {};
  ASSERT_EQ(write_frame_header(out, 125), 2u);
  EXPECT_EQ(static_cast<std::uint8_t>(out[0]), 0x81);
  EXPECT_EQ(static_cast<std::uint8_t>(out[1]), 125);

  ASSERT_EQ(write_frame_header(out, 126), 4u);
  EXPECT_EQ(static_cast<std::uint8_t>(out[1]), 126);
  EXPECT_EQ(static_cast<std::uint8_t>(out[2]), 0x00);
  EXPECT_EQ(static_cast<std::uint8_t>(out[3]), 0x7e);

  ASSERT_EQ(write_frame_header(out, 65535), 4u);
  EXPECT_EQ(static_cast<std::uint8_t>(out[1]), 126);
  EXPECT_EQ(static_cast<std::uint8_t>(out[2]), 0xff);
  EXPECT_EQ(static_cast<std::uint8_t>(out[3]), 0xff);

  ASSERT_EQ(write_frame_header(out, 65536), 10u);
  EXPECT_EQ(static_cast<std::uint8_t>(out[1]), 127);
  const unsigned char expected[8] = {0, 0, 0, 0, 0, 1, 0, 0};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(static_cast<std::uint8_t>(out[2 + i]), expected[i]) << i;

  ASSERT_EQ(write_frame_header(out, 0x0102030405ULL), 10u);
  const unsigned char big[8] = {0, 0, 0, 1, 2, 3, 4, 5};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(static_cast<std::uint8_t>(out[2 + i]), big[i]) << i;
}

TEST(WsFrame, ServerHeaderOpcodes) {
  char out[10] = {};
  ASSERT_EQ(write_frame_header(out, 2, Opcode::close), 2u);
  EXPECT_EQ(static_cast<std::uint8_t>(out[0]), 0x88);
  EXPECT_EQ(static_cast<std::uint8_t>(out[1]), 2);
  write_frame_header(out, 0, Opcode::pong);
  EXPECT_EQ(static_cast<std::uint8_t>(out[0]), 0x8A);
  EXPECT_EQ(static_cast<std::uint8_t>(out[1]), 0);
}

// What the servers write, the client reads back.
TEST(WsFrame, DecodesWhatWriteFrameHeaderWrites) {
  for (std::size_t size : {0u, 125u, 126u, 65535u, 65536u}) {
    std::string frame(frame_header_size(size), '\0');
    ASSERT_EQ(write_frame_header(frame.data(), size), frame.size());
    frame.append(size, 'x');
    FrameHeader header;
    std::uint64_t needed = 0;
    ASSERT_EQ(decode_frame(reinterpret_cast<const std::uint8_t*>(frame.data()), frame.size(), header, needed),
              FrameStatus::complete)
        << size;
    EXPECT_TRUE(header.fin);
    EXPECT_EQ(header.opcode, Opcode::text);
    EXPECT_EQ(header.header_size, frame_header_size(size));
    EXPECT_EQ(header.payload_size, size);
  }
}

TEST(WsFrame, DecodesSmallMediumAndLargeLengths) {
  for (std::size_t size : {0u, 125u, 126u, 65535u, 65536u, 200000u}) {
    const auto frame = server_frame(0x81, std::string(size, 'x'));
    FrameHeader header;
    std::uint64_t needed = 0;
    ASSERT_EQ(decode_frame(frame.data(), frame.size(), header, needed), FrameStatus::complete) << size;
    EXPECT_TRUE(header.fin);
    EXPECT_EQ(header.opcode, Opcode::text);
    EXPECT_EQ(header.payload_size, size);
    EXPECT_EQ(needed, frame.size());
    EXPECT_EQ(header.header_size + size, frame.size());
  }
}

TEST(WsFrame, IncompleteFramesSayHowMuchIsNeeded) {
  const auto frame = server_frame(0x81, std::string(300, 'x'));
  FrameHeader header;
  std::uint64_t needed = 0;
  EXPECT_EQ(decode_frame(frame.data(), 1, header, needed), FrameStatus::incomplete);
  EXPECT_EQ(needed, 2u);
  EXPECT_EQ(decode_frame(frame.data(), 3, header, needed), FrameStatus::incomplete);
  EXPECT_EQ(needed, 4u);  // the extended length is not in yet
  EXPECT_EQ(decode_frame(frame.data(), 100, header, needed), FrameStatus::incomplete);
  EXPECT_EQ(needed, frame.size());
}

TEST(WsFrame, RejectsWhatAServerMustNotSend) {
  FrameHeader header;
  std::uint64_t needed = 0;
  const std::uint8_t masked[] = {0x81, 0x81, 1, 2, 3, 4, 'x'};
  EXPECT_EQ(decode_frame(masked, sizeof masked, header, needed), FrameStatus::invalid);
  const std::uint8_t rsv[] = {0xC1, 0x01, 'x'};
  EXPECT_EQ(decode_frame(rsv, sizeof rsv, header, needed), FrameStatus::invalid);
  const std::uint8_t opcode3[] = {0x83, 0x00};
  EXPECT_EQ(decode_frame(opcode3, sizeof opcode3, header, needed), FrameStatus::invalid);
  const std::uint8_t fragmented_ping[] = {0x09, 0x00};
  EXPECT_EQ(decode_frame(fragmented_ping, sizeof fragmented_ping, header, needed), FrameStatus::invalid);
  const std::uint8_t long_ping[] = {0x89, 126, 0, 200};
  EXPECT_EQ(decode_frame(long_ping, sizeof long_ping, header, needed), FrameStatus::invalid);
}

TEST(WsFrame, ControlAndContinuationFrames) {
  FrameHeader header;
  std::uint64_t needed = 0;
  const auto ping = server_frame(0x89, "hi");
  ASSERT_EQ(decode_frame(ping.data(), ping.size(), header, needed), FrameStatus::complete);
  EXPECT_EQ(header.opcode, Opcode::ping);
  const auto first = server_frame(0x01, "part");
  ASSERT_EQ(decode_frame(first.data(), first.size(), header, needed), FrameStatus::complete);
  EXPECT_FALSE(header.fin);
  const auto last = server_frame(0x80, "end");
  ASSERT_EQ(decode_frame(last.data(), last.size(), header, needed), FrameStatus::complete);
  EXPECT_EQ(header.opcode, Opcode::continuation);
  EXPECT_TRUE(header.fin);
}

TEST(WsFrame, ClientFramesAreMaskedAndUnmaskBack) {
  std::string out;
  append_client_frame(out, Opcode::pong, "payload", 0x11223344);
  ASSERT_EQ(out.size(), 2u + 4u + 7u);
  EXPECT_EQ(static_cast<std::uint8_t>(out[0]), 0x8A);  // FIN + pong
  EXPECT_EQ(static_cast<std::uint8_t>(out[1]), 0x80 | 7);
  const std::uint8_t mask[4] = {0x11, 0x22, 0x33, 0x44};
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(static_cast<std::uint8_t>(out[2 + i]), mask[i]);
  std::string unmasked;
  for (std::size_t i = 0; i < 7; ++i) unmasked.push_back(static_cast<char>(out[6 + i] ^ mask[i % 4]));
  EXPECT_EQ(unmasked, "payload");

  std::string big;
  append_client_frame(big, Opcode::text, std::string(1000, 'a'), 1);
  EXPECT_EQ(static_cast<std::uint8_t>(big[1]), 0x80 | 126);
  EXPECT_EQ(big.size(), 2u + 2u + 4u + 1000u);
}

}  // namespace
}  // namespace tickrelay::wire
