#include "ws_handshake.hpp"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>
#include <stdexcept>

#include "tickrelay/wire/base64.hpp"

namespace tickrelay::client {
namespace http = boost::beast::http;

namespace {

std::string random_key() {
  unsigned char nonce[16];
  if (RAND_bytes(nonce, sizeof nonce) != 1) {
    throw std::runtime_error("no random bytes for Sec-WebSocket-Key");
  }
  return wire::base64(nonce, sizeof nonce);
}

bool token_in(std::string_view list, std::string_view token) {
  // Header values such as "keep-alive, Upgrade": compare tokens without case.
  while (!list.empty()) {
    const auto comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.size() == token.size() && std::equal(item.begin(), item.end(), token.begin(),
                                                  [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
      return true;
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

WsHandshake::WsHandshake(std::string host_header, std::string target)
    : WsHandshake(std::move(host_header), std::move(target), random_key()) {}

WsHandshake::WsHandshake(std::string host_header, std::string target, std::string key)
    : key_(std::move(key)), request_(http::verb::get, target, 11) {
  request_.set(http::field::host, host_header);
  request_.set(http::field::upgrade, "websocket");
  request_.set(http::field::connection, "Upgrade");
  request_.set(http::field::sec_websocket_key, key_);
  request_.set(http::field::sec_websocket_version, "13");
  request_.set(http::field::user_agent, "tickrelay-load/" TICKRELAY_VERSION);
}

std::string WsHandshake::accept_for(const std::string& key) {
  static constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  const std::string input = key + std::string(kGuid);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  return wire::base64(digest, sizeof digest);
}

std::string WsHandshake::check(const http::response<http::empty_body>& response) const {
  if (response.result() != http::status::switching_protocols) {
    return "server answered " + std::to_string(response.result_int()) + " instead of 101";
  }
  if (!token_in(response[http::field::upgrade], "websocket")) {
    return "response lacks Upgrade: websocket";
  }
  if (!token_in(response[http::field::connection], "upgrade")) {
    return "response lacks Connection: Upgrade";
  }
  if (response[http::field::sec_websocket_accept] != accept_for(key_)) {
    return "wrong Sec-WebSocket-Accept";
  }
  if (!response[http::field::sec_websocket_extensions].empty()) {
    // None was offered; an extension such as permessage-deflate would change
    // the framing the raw reader expects.
    return "server chose an extension that was not offered";
  }
  return {};
}

}  // namespace tickrelay::client
