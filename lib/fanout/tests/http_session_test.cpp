#include "http_session.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tickrelay::fanout {
namespace {

TEST(HttpSession, TokenMatchesOnlyTheExactToken) {
  EXPECT_TRUE(token_matches("s3cret", "s3cret"));
  EXPECT_FALSE(token_matches("s3creT", "s3cret"));
  EXPECT_FALSE(token_matches("s3cre", "s3cret"));
  EXPECT_FALSE(token_matches("s3crett", "s3cret"));
  EXPECT_FALSE(token_matches("", "s3cret"));
  EXPECT_FALSE(token_matches("x3cret", "s3cret"));
}

TEST(HttpSession, EmptyConfiguredTokenMatchesNothing) {
  // The caller checks for "no token configured" first; an empty expected
  // token must never let an empty presented one through by accident.
  EXPECT_FALSE(token_matches("", ""));
  EXPECT_FALSE(token_matches("x", ""));
}

TEST(HttpSession, TokenComparisonCoversEveryByte) {
  const std::string expected(64, 'a');
  for (std::size_t i = 0; i < expected.size(); ++i) {
    std::string presented = expected;
    presented[i] = 'b';
    EXPECT_FALSE(token_matches(presented, expected)) << i;
  }
  EXPECT_TRUE(token_matches(expected, expected));
}

TEST(HttpSession, TokenWithEmbeddedNul) {
  const std::string expected("ab\0cd", 5);
  EXPECT_TRUE(token_matches(std::string("ab\0cd", 5), expected));
  EXPECT_FALSE(token_matches(std::string("ab\0ce", 5), expected));
  EXPECT_FALSE(token_matches("ab", expected));
}

}  // namespace
}  // namespace tickrelay::fanout
