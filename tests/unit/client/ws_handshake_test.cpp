#include "ws_handshake.hpp"

#include <gtest/gtest.h>

namespace tickrelay::client {
namespace {
namespace http = boost::beast::http;

http::response<http::empty_body> good_response(const std::string& accept) {
  http::response<http::empty_body> res{http::status::switching_protocols, 11};
  res.set(http::field::upgrade, "websocket");
  res.set(http::field::connection, "Upgrade");
  res.set(http::field::sec_websocket_accept, accept);
  return res;
}

TEST(WsHandshake, AcceptKeyMatchesRfc6455Example) {
  EXPECT_EQ(WsHandshake::accept_for("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WsHandshake, RequestCarriesTheUpgradeHeaders) {
  WsHandshake handshake("example.com:9443", "/ws/btcusdt@trade");
  const auto& req = handshake.request();
  EXPECT_EQ(req.method(), http::verb::get);
  EXPECT_EQ(req.target(), "/ws/btcusdt@trade");
  EXPECT_EQ(req[http::field::host], "example.com:9443");
  EXPECT_EQ(req[http::field::upgrade], "websocket");
  EXPECT_EQ(req[http::field::sec_websocket_version], "13");
  EXPECT_EQ(req[http::field::sec_websocket_key].size(), 24u);  // 16 random bytes in base64
  WsHandshake other("example.com", "/");
  EXPECT_NE(other.request()[http::field::sec_websocket_key], req[http::field::sec_websocket_key]);
}

TEST(WsHandshake, ChecksTheResponse) {
  WsHandshake handshake("h", "/", "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_EQ(handshake.check(good_response("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")), "");

  auto lower_case = good_response("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  lower_case.set(http::field::connection, "keep-alive, upgrade");
  lower_case.set(http::field::upgrade, "WebSocket");
  EXPECT_EQ(handshake.check(lower_case), "");

  EXPECT_NE(handshake.check(good_response("wrong")), "");
  http::response<http::empty_body> not_found{http::status::not_found, 11};
  EXPECT_NE(handshake.check(not_found).find("404"), std::string::npos);
  auto no_upgrade = good_response("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  no_upgrade.erase(http::field::upgrade);
  EXPECT_NE(handshake.check(no_upgrade), "");
  auto deflate = good_response("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  deflate.set(http::field::sec_websocket_extensions, "permessage-deflate");
  EXPECT_NE(handshake.check(deflate), "");
}

}  // namespace
}  // namespace tickrelay::client
