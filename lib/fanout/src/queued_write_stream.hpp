#pragma once
// The stream a client's WebSocket object sits on. Reads go straight to the
// socket; writes (the 101 response, pong, ping and close frames that
// Beast's websocket::stream produces) are handed to the session's send queue,
// so one writer owns the socket and library frames never interleave with the
// relay's gathered data frames.
#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>

#include <boost/asio/associator.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/role.hpp>

#include "tickrelay/wire/asio.hpp"

namespace tickrelay::fanout {

// Receives the library's wire bytes; implemented by the client session.
class WireSink {
 public:
  virtual void write_library_bytes(std::string bytes) = 0;
  // `n` bytes came from the client (after TLS), before the library parses
  // them: whatever frames they hold, complete or not, they are counted.
  virtual void read_from_client(std::size_t n) = 0;
  // The library finished its closing handshake: close the socket once
  // everything queued has been written.
  virtual void close_after_flush() = 0;

 protected:
  ~WireSink() = default;
};

// A read handler of the library behind the count; it keeps the handler's
// executor and allocator (net::associator below).
template <class Handler>
struct CountedRead {
  Handler handler;
  WireSink* sink;
  void operator()(error_code ec, std::size_t n) {
    if (n > 0) sink->read_from_client(n);
    std::move(handler)(ec, n);
  }
};

template <class NextLayer>
class QueuedWriteStream {
 public:
  using next_layer_type = NextLayer;
  using executor_type = typename NextLayer::executor_type;

  template <class... Args>
  explicit QueuedWriteStream(WireSink& sink, Args&&... args) : next_(std::forward<Args>(args)...), sink_(&sink) {}

  executor_type get_executor() noexcept { return next_.get_executor(); }
  NextLayer& next_layer() noexcept { return next_; }
  const NextLayer& next_layer() const noexcept { return next_; }
  WireSink& sink() noexcept { return *sink_; }

  // Reads from the socket; the sink hears how much arrived before the
  // library does.
  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return net::async_initiate<Token, void(error_code, std::size_t)>(
        [this](auto handler, const MutableBuffers& b) {
          next_.async_read_some(b, CountedRead<std::decay_t<decltype(handler)>>{std::move(handler), sink_});
        },
        token, buffers);
  }

  // Copies the bytes into the send queue and completes at once (through the
  // executor, never inline): the library sees a write that always succeeds.
  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return net::async_initiate<Token, void(error_code, std::size_t)>(
        [this](auto handler, const ConstBuffers& b) {
          std::string bytes(net::buffer_size(b), '\0');
          net::buffer_copy(net::buffer(bytes), b);
          const std::size_t n = bytes.size();
          sink_->write_library_bytes(std::move(bytes));
          net::post(get_executor(), beast::bind_front_handler(std::move(handler), error_code{}, n));
        },
        token, buffers);
  }

 private:
  NextLayer next_;
  WireSink* sink_;
};

// Found by argument-dependent lookup when the WebSocket closing handshake is
// done: the session shuts the socket down after its queue drains.
template <class NextLayer, class Handler>
void async_teardown(beast::role_type, QueuedWriteStream<NextLayer>& stream, Handler&& handler) {
  stream.sink().close_after_flush();
  net::post(stream.get_executor(), beast::bind_front_handler(std::forward<Handler>(handler), error_code{}));
}

template <class NextLayer>
void teardown(beast::role_type, QueuedWriteStream<NextLayer>& stream, error_code& ec) {
  stream.sink().close_after_flush();
  ec = {};
}

}  // namespace tickrelay::fanout

template <template <class, class> class Associator, class Handler, class Default>
struct boost::asio::associator<Associator, tickrelay::fanout::CountedRead<Handler>, Default>
    : Associator<Handler, Default> {
  static typename Associator<Handler, Default>::type get(const tickrelay::fanout::CountedRead<Handler>& h) noexcept {
    return Associator<Handler, Default>::get(h.handler);
  }
  static auto get(const tickrelay::fanout::CountedRead<Handler>& h, const Default& d) noexcept {
    return Associator<Handler, Default>::get(h.handler, d);
  }
};
