#pragma once
// Accepts client connections and starts an HttpSession for each. Binds its
// own address, or adopts a listening socket passed in by systemd. Owned by
// shared_ptr: a pending accept keeps it alive after its owner replaced it
// (a reload with new TLS files) until the aborted accept has completed.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "tickrelay/fanout/client_registry.hpp"
#include "tickrelay/wire/asio.hpp"

namespace tickrelay::fanout {

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  // `tls`: null for plain ws://.
  Listener(net::io_context& ioc, ClientRegistry& registry, ssl::context* tls);

  // Binds and listens; throws std::runtime_error naming the address.
  void listen(const tcp::endpoint& endpoint);
  // Adopts an already listening socket (socket activation).
  void adopt(int native_fd);
  void start();
  void stop();
  // The TLS context new connections get from now on (null: plain); open
  // connections keep the one they started with.
  void set_tls(ssl::context* tls) { tls_ = tls; }
  bool listening() const { return acceptor_.is_open(); }
  int native_handle() { return acceptor_.native_handle(); }
  tcp::endpoint local_endpoint() const;

 private:
  void do_accept();
  void on_accept(error_code ec, tcp::socket socket);

  ClientRegistry& registry_;
  ssl::context* tls_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_;
  bool stopped_ = false;
  std::uint64_t accept_failures_ = 0;  // since the last warning
  std::chrono::steady_clock::time_point failure_logged_at_{};
};

}  // namespace tickrelay::fanout
