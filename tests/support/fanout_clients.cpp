#include "fanout_clients.hpp"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/url/parse.hpp>
#include <charconv>
#include <stdexcept>
#include <type_traits>
#include <variant>

namespace tickrelay::test {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

}  // namespace

void tally_message(ClientTally& t, std::string_view text, std::string_view id_field) {
  // A scan for "<id>": rather than a full parse keeps the test's own
  // reading fast enough not to become the slow consumer.
  const auto key = text.find("\"" + std::string(id_field) + "\":");
  if (key != std::string_view::npos) {
    const char* p = text.data() + key + id_field.size() + 3;
    std::int64_t id = 0;
    const auto [end, ec] = std::from_chars(p, text.data() + text.size(), id);
    if (ec == std::errc() && end != p) {
      if (t.first_id < 0)
        t.first_id = id;
      else if (id > t.last_id + 1)
        ++t.gaps;
      else if (id <= t.last_id)
        ++t.duplicates;
      t.last_id = std::max(t.last_id, id);
    }
  }
  ++t.messages;
}

struct FanoutClients::Impl {
  using PlainWs = websocket::stream<beast::tcp_stream>;
  using TlsWs = websocket::stream<ssl::stream<beast::tcp_stream>>;
  struct Client {
    std::variant<PlainWs, TlsWs> ws;
    beast::flat_buffer buffer;
    explicit Client(net::io_context& ioc) : ws(std::in_place_type<PlainWs>, ioc) {}
    Client(net::io_context& ioc, ssl::context& tls) : ws(std::in_place_type<TlsWs>, ioc, tls) {}
  };
  ssl::context tls{ssl::context::tls_client};
  net::io_context ioc;
  std::vector<std::unique_ptr<Client>> clients;
  std::vector<ClientTally> tallies;
  std::string id_field;
  std::uint64_t target = 0;

  void read(std::size_t i) {
    auto& c = *clients[i];
    std::visit(
        [&](auto& ws) {
          ws.async_read(c.buffer, [this, i](boost::system::error_code ec, std::size_t) { on_read(i, ec); });
        },
        c.ws);
  }

  void on_read(std::size_t i, boost::system::error_code ec) {
    auto& c = *clients[i];
    auto& t = tallies[i];
    if (ec) {
      t.closed = true;
      t.close_code = std::visit([](auto& ws) { return static_cast<int>(ws.reason().code); }, c.ws);
      return;
    }
    if (!std::visit([](auto& ws) { return ws.got_text(); }, c.ws)) ++t.binary;
    tally_message(t, beast::buffers_to_string(c.buffer.data()), id_field);
    c.buffer.consume(c.buffer.size());
    read(i);
  }
};

FanoutClients::FanoutClients(const std::string& url, std::size_t count, std::string id_field,
                             const std::string& ca_file)
    : impl_(std::make_unique<Impl>()) {
  impl_->id_field = std::move(id_field);
  const auto parsed = boost::urls::parse_uri(url);
  const bool secure = parsed->scheme() == "wss";
  const std::string host(parsed->host_address());
  const std::string port(parsed->port());
  const std::string target(parsed->encoded_resource());
  const tcp::endpoint endpoint(net::ip::make_address(host == "localhost" ? "127.0.0.1" : host),
                               static_cast<unsigned short>(std::stoi(port)));
  if (secure && !ca_file.empty()) {
    impl_->tls.set_verify_mode(ssl::verify_peer);
    impl_->tls.load_verify_file(ca_file);
  }
  impl_->tallies.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    auto client = secure ? std::make_unique<Impl::Client>(impl_->ioc, impl_->tls)
                         : std::make_unique<Impl::Client>(impl_->ioc);
    std::visit(
        [&](auto& ws) {
          beast::get_lowest_layer(ws).connect(endpoint);
          ws.read_message_max(16 << 20);
          if constexpr (std::is_same_v<std::decay_t<decltype(ws)>, Impl::TlsWs>) {
            SSL_set_tlsext_host_name(ws.next_layer().native_handle(), host.c_str());
            if (!ca_file.empty()) ws.next_layer().set_verify_callback(ssl::host_name_verification(host));
            ws.next_layer().handshake(ssl::stream_base::client);
          }
          ws.handshake(host + ":" + port, target);
        },
        client->ws);
    impl_->clients.push_back(std::move(client));
  }
  for (std::size_t i = 0; i < count; ++i) impl_->read(i);
}

FanoutClients::~FanoutClients() = default;

bool FanoutClients::run_until_each_has(std::uint64_t messages, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto all_there = [&] {
    for (const auto& t : impl_->tallies) {
      if (t.messages < messages && !t.closed) return false;
    }
    return true;
  };
  while (!all_there() && std::chrono::steady_clock::now() < deadline) {
    impl_->ioc.run_for(std::chrono::milliseconds(20));
    if (impl_->ioc.stopped()) impl_->ioc.restart();
  }
  return all_there();
}

const std::vector<ClientTally>& FanoutClients::tallies() const { return impl_->tallies; }

void expect_every_event(const ClientTally& t, const std::string& who) {
  EXPECT_FALSE(t.closed) << who;
  EXPECT_EQ(t.gaps, 0u) << who;
  EXPECT_EQ(t.duplicates, 0u) << who;
  EXPECT_EQ(t.binary, 0u) << who;
  EXPECT_EQ(t.messages, static_cast<std::uint64_t>(t.last_id - t.first_id + 1)) << who;
}

void expect_every_event(const FanoutClients& clients) {
  std::size_t i = 0;
  for (const auto& t : clients.tallies()) expect_every_event(t, "client " + std::to_string(i++));
}

}  // namespace tickrelay::test
