#include "tickrelay/wire/base64.hpp"

#include <gtest/gtest.h>

namespace tickrelay::wire {
namespace {

// RFC 4648's test vectors.
TEST(Base64, Rfc4648Vectors) {
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("fo"), "Zm8=");
  EXPECT_EQ(base64("foo"), "Zm9v");
  EXPECT_EQ(base64("foob"), "Zm9vYg==");
  EXPECT_EQ(base64("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
  const unsigned char bytes[] = {0xfb, 0xff};
  EXPECT_EQ(base64(bytes, sizeof bytes), "+/8=");
}

}  // namespace
}  // namespace tickrelay::wire
