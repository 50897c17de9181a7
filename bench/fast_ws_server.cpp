// fast_ws_server: a WebSocket server that sends Binance-shaped trade events
// as fast as the socket takes them (or at a set rate), for measuring how many
// messages tickrelay-load's receive path can handle. Beast accepts the
// upgrade; the events are pre-framed and written in large batches, so the
// server spends a few nanoseconds per message and the client is the limit.
//
//   fast_ws_server --port 9100 [--rate N] [--symbols 4] [--cert PEM --key PEM]
//     --rate 0 (default): flood; --rate N: N messages/s per connection;
//     --rate -1: accept and stay silent (memory per idle connection).
//     --cert/--key: wss:// instead of ws://.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "tickrelay/wire/ws_frame.hpp"

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace websocket = boost::beast::websocket;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

namespace {

// About 1,900 events per write: large writes keep the server's per-message
// cost far below the client's.
constexpr std::size_t kBatchBytes = 256 * 1024;
// Paced mode writes every 10 ms, or once per message when a connection's
// rate is below 100/s, so 10,000 slow connections cost 100,000 writes a
// second rather than a million timer wake-ups.
constexpr auto kMinRateTick = std::chrono::milliseconds(10);

struct Options {
  unsigned short port = 9100;
  long rate = 0;
  int symbols = 4;
  std::string cert;
  std::string key;
};

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void put_digits(char* at, std::uint64_t value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    at[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

// One symbol's event with fixed-width E, T (16 digits, microseconds) and t
// (12 digits, starting at 1e11 so the width never changes).
struct Template {
  std::string frame;
  std::size_t e_at, t_at, tt_at;
  std::uint64_t next_id = 100'000'000'000ull;
};

Template make_template(const std::string& symbol) {
  const std::string body = "{\"e\":\"trade\",\"E\":1000000000000000,\"s\":\"" + symbol +
                           "\",\"t\":100000000000,\"p\":\"43210.12\",\"q\":\"0.00100\","
                           "\"T\":1000000000000000,\"m\":true,\"M\":true}";
  Template t;
  t.frame.resize(tickrelay::wire::frame_header_size(body.size()));
  tickrelay::wire::write_frame_header(t.frame.data(), body.size());
  t.frame += body;
  t.e_at = t.frame.find("\"E\":") + 4;
  t.t_at = t.frame.find("\"t\":") + 4;
  t.tt_at = t.frame.find("\"T\":") + 4;
  return t;
}

// Next is tcp::socket (ws://) or ssl::stream<tcp::socket> (wss://). After
// Beast's accept, frames go straight to Next: Beast would add a per-message
// write operation the server does not need.
template <class Next>
class Connection : public std::enable_shared_from_this<Connection<Next>> {
 public:
  template <class... Args>
  Connection(const Options& options, Args&&... args)
      : ws_(std::forward<Args>(args)...), options_(options), timer_(ws_.get_executor()) {
    static constexpr const char* kSymbols[] = {"BTCUSDT", "ETHUSDT", "BNBUSDT",  "XRPUSDT",
                                               "ADAUSDT", "SOLUSDT", "DOGEUSDT", "DOTUSDT"};
    for (int i = 0; i < options.symbols && i < 8; ++i) templates_.push_back(make_template(kSymbols[i]));
  }

  void start() {
    boost::beast::get_lowest_layer(ws_).set_option(tcp::no_delay(true));
    if constexpr (std::is_same_v<Next, tcp::socket>) {
      do_accept();
    } else {
      ws_.next_layer().async_handshake(ssl::stream_base::server, [self = this->shared_from_this()](error_code ec) {
        if (!ec) self->do_accept();
      });
    }
  }

 private:
  Next& raw() { return ws_.next_layer(); }
  void close() {
    error_code ignored;
    boost::beast::get_lowest_layer(ws_).close(ignored);
    timer_.cancel();
  }

  void do_accept() {
    ws_.async_accept([self = this->shared_from_this()](error_code ec) { self->on_accept(ec); });
  }

  void on_accept(error_code ec) {
    if (ec) return;
    // The client sends nothing before our 101, so Beast holds no extra bytes.
    open_ = true;
    do_drain();
    if (options_.rate < 0) return;
    if (options_.rate == 0) {
      do_flood();
    } else {
      tick_ = std::max<std::chrono::nanoseconds>(kMinRateTick, std::chrono::nanoseconds(1'000'000'000 / options_.rate));
      last_tick_ = std::chrono::steady_clock::now();
      do_tick();
    }
  }

  // Reads and drops what the client sends (pongs, close) so it never blocks.
  void do_drain() {
    raw().async_read_some(net::buffer(in_), [self = this->shared_from_this()](error_code ec, std::size_t) {
      if (ec) {
        self->open_ = false;
        self->close();
        return;
      }
      self->do_drain();
    });
  }

  void fill(std::size_t count) {
    batch_.clear();
    const auto e = static_cast<std::uint64_t>(now_us());
    for (std::size_t i = 0; i < count; ++i) {
      Template& t = templates_[next_symbol_++ % templates_.size()];
      const std::size_t at = batch_.size();
      batch_ += t.frame;
      put_digits(batch_.data() + at + t.e_at, e, 16);
      put_digits(batch_.data() + at + t.tt_at, e, 16);
      put_digits(batch_.data() + at + t.t_at, t.next_id++, 12);
    }
  }

  void do_flood() {
    fill(kBatchBytes / templates_[0].frame.size());
    net::async_write(raw(), net::buffer(batch_), [self = this->shared_from_this()](error_code ec, std::size_t) {
      if (!ec) self->do_flood();
    });
  }

  void do_tick() {
    timer_.expires_at(last_tick_ + tick_);
    timer_.async_wait([self = this->shared_from_this()](error_code ec) {
      if (ec || !self->open_) return;
      self->last_tick_ += self->tick_;
      self->owed_ += static_cast<double>(self->options_.rate) * std::chrono::duration<double>(self->tick_).count();
      const auto n = static_cast<std::size_t>(self->owed_);
      self->owed_ -= static_cast<double>(n);
      if (n == 0 || self->writing_) return self->do_tick();
      self->fill(n);
      self->writing_ = true;
      net::async_write(self->raw(), net::buffer(self->batch_), [self](error_code ec2, std::size_t) {
        self->writing_ = false;
        if (!ec2) self->do_tick();
      });
    });
  }

  websocket::stream<Next> ws_;
  const Options& options_;
  bool open_ = false;
  net::steady_timer timer_;
  std::vector<Template> templates_;
  std::size_t next_symbol_ = 0;
  std::string batch_;
  char in_[512];
  std::chrono::steady_clock::time_point last_tick_;
  std::chrono::nanoseconds tick_{kMinRateTick};
  double owed_ = 0;
  bool writing_ = false;
};

void do_accept(tcp::acceptor& acceptor, const Options& options, ssl::context* tls) {
  acceptor.async_accept([&acceptor, &options, tls](error_code ec, tcp::socket socket) {
    if (!ec) {
      if (tls) {
        std::make_shared<Connection<ssl::stream<tcp::socket>>>(options, std::move(socket), *tls)->start();
      } else {
        std::make_shared<Connection<tcp::socket>>(options, std::move(socket))->start();
      }
    }
    do_accept(acceptor, options, tls);
  });
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--port")
      options.port = static_cast<unsigned short>(std::atoi(argv[i + 1]));
    else if (flag == "--rate")
      options.rate = std::atol(argv[i + 1]);
    else if (flag == "--symbols")
      options.symbols = std::max(1, std::atoi(argv[i + 1]));
    else if (flag == "--cert")
      options.cert = argv[i + 1];
    else if (flag == "--key")
      options.key = argv[i + 1];
    else {
      std::fprintf(stderr, "usage: fast_ws_server --port P [--rate N|0|-1] [--symbols 1..8] [--cert PEM --key PEM]\n");
      return 2;
    }
  }
  net::io_context ioc(1);
  std::unique_ptr<ssl::context> tls;
  if (!options.cert.empty()) {
    tls = std::make_unique<ssl::context>(ssl::context::tls_server);
    tls->use_certificate_chain_file(options.cert);
    tls->use_private_key_file(options.key, ssl::context::pem);
  }
  tcp::acceptor acceptor(ioc);
  const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), options.port);
  acceptor.open(endpoint.protocol());
  acceptor.set_option(net::socket_base::reuse_address(true));
  acceptor.bind(endpoint);
  acceptor.listen(net::socket_base::max_listen_connections);
  std::printf("listening %u\n", options.port);
  std::fflush(stdout);
  do_accept(acceptor, options, tls.get());
  ioc.run();
}
