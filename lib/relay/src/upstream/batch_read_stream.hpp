#pragma once
// The stream an upstream WebSocket object reads through. It reads the socket
// in large chunks into a buffer of its own and serves the library's small
// reads from it, and it marks one socket read as one publish batch on the
// router: the batch opens when a socket read completes and ends when the
// library, having taken every complete message in the buffer, asks for the
// socket again. So every message of one upstream read is published before
// any client is written, and each client gets one gathered write per read.
//
// Beast's WebSocket stream reads through a 1.5 KB buffer of its own, so on
// its own it would read the socket every three or so market events; this
// layer gives it the whole read (up to kChunkBytes) at once.
#include <cstddef>
#include <memory>
#include <utility>

#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/websocket/teardown.hpp>

#include "tickrelay/fanout/router.hpp"
#include "tickrelay/wire/asio.hpp"

namespace tickrelay::upstream {

template <class NextLayer>
class BatchReadStream {
 public:
  using next_layer_type = NextLayer;
  using executor_type = typename NextLayer::executor_type;

  // Larger than a loopback read usually returns at full load; one TLS
  // record is at most 16 KiB.
  static constexpr std::size_t kChunkBytes = 64 * 1024;

  template <class... Args>
  explicit BatchReadStream(fanout::Router& router, Args&&... args)
      : next_(std::forward<Args>(args)...), router_(router) {}
  // The owner calls end_batch() when it ends; the destructor does not (the
  // router may already be gone when a finished connection is freed).
  ~BatchReadStream() = default;
  BatchReadStream(const BatchReadStream&) = delete;
  BatchReadStream& operator=(const BatchReadStream&) = delete;

  executor_type get_executor() noexcept { return next_.get_executor(); }
  NextLayer& next_layer() noexcept { return next_; }
  const NextLayer& next_layer() const noexcept { return next_; }

  // The connection ended: a batch still open ends now. Every read path of
  // the connection either asks for the socket again or ends.
  void end_batch() {
    if (!in_batch_) return;
    in_batch_ = false;
    router_.end_batch();
  }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return net::async_initiate<Token, void(error_code, std::size_t)>(
        [this](auto handler, const MutableBuffers& out) {
          if (begin_ != end_) {
            // Served from what the last socket read brought; completes
            // through the executor, never inside the initiation.
            const std::size_t n = take(out);
            net::post(get_executor(), beast::bind_front_handler(std::move(handler), error_code{}, n));
            return;
          }
          // Every complete message of the last read has been taken.
          end_batch();
          if (!chunk_) chunk_ = std::make_unique<char[]>(kChunkBytes);
          next_.async_read_some(net::buffer(chunk_.get(), kChunkBytes),
                                [this, out, handler = std::move(handler)](error_code ec, std::size_t n) mutable {
                                  std::size_t given = 0;
                                  if (!ec && n > 0) {
                                    begin_ = 0;
                                    end_ = n;
                                    in_batch_ = true;
                                    router_.begin_batch();
                                    given = take(out);
                                  }
                                  std::move(handler)(ec, given);
                                });
        },
        token, buffers);
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return next_.async_write_some(buffers, std::forward<Token>(token));
  }

 private:
  template <class MutableBuffers>
  std::size_t take(const MutableBuffers& out) {
    const std::size_t n = net::buffer_copy(out, net::buffer(chunk_.get() + begin_, end_ - begin_));
    begin_ += n;
    return n;
  }

  NextLayer next_;
  fanout::Router& router_;
  std::unique_ptr<char[]> chunk_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  bool in_batch_ = false;
};

// The WebSocket closing handshake tears down the layer below.
template <class NextLayer>
void teardown(beast::role_type role, BatchReadStream<NextLayer>& stream, error_code& ec) {
  using beast::websocket::teardown;
  teardown(role, stream.next_layer(), ec);
}

template <class NextLayer, class Handler>
void async_teardown(beast::role_type role, BatchReadStream<NextLayer>& stream, Handler&& handler) {
  using beast::websocket::async_teardown;
  async_teardown(role, stream.next_layer(), std::forward<Handler>(handler));
}

}  // namespace tickrelay::upstream
