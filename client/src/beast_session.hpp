#pragma once
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <memory>
#include <string>

#include "session.hpp"
#include "tickrelay/wire/asio.hpp"

namespace tickrelay::client {

class LoadWorker;

using PlainStream = beast::tcp_stream;
using TlsStream = ssl::stream<beast::tcp_stream>;

// One connection through Beast's websocket::stream (--reader beast), the
// baseline the raw reader is measured against. Beast answers pings and
// close frames.
// Each message is read whole into buffer_ and handed on as one copy.
template <class NextLayer>
class BeastSession : public Session, public std::enable_shared_from_this<BeastSession<NextLayer>> {
 public:
  BeastSession(LoadWorker& worker, std::size_t target, std::size_t index, NextLayer stream);
  ~BeastSession() override;
  BeastSession(const BeastSession&) = delete;
  BeastSession& operator=(const BeastSession&) = delete;

  void start();
  void close() override;

 private:
  void on_connect(error_code ec);
  void on_tls_handshake(error_code ec);
  void do_ws_handshake();
  void on_ws_handshake(error_code ec);
  void on_subscribed(error_code ec, std::size_t bytes);
  void do_read();
  void on_read(error_code ec, std::size_t bytes);
  void fail(error_code ec, const char* what);

  LoadWorker& worker_;
  const std::size_t target_;
  const std::size_t index_;
  beast::websocket::stream<NextLayer> ws_;
  beast::flat_buffer buffer_;
  std::string subscribe_;
  bool up_ = false;
  bool done_ = false;
};

}  // namespace tickrelay::client
