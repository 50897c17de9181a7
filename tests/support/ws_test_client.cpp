#include "ws_test_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/url/parse.hpp>
#include <stdexcept>
#include <variant>

namespace tickrelay::test {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using PlainWs = websocket::stream<beast::tcp_stream>;
using TlsWs = websocket::stream<ssl::stream<beast::tcp_stream>>;

}  // namespace

struct WsTestClient::Impl {
  net::io_context ioc;
  ssl::context tls{ssl::context::tls_client};
  std::variant<std::monostate, PlainWs, TlsWs> ws;
  beast::flat_buffer buffer;
  bool read_pending = false;
  bool read_done = false;
  boost::system::error_code read_ec;
  bool is_closed = false;
  websocket::close_reason reason;

  template <class F>
  void visit(F&& f) {
    std::visit(
        [&](auto& s) {
          if constexpr (!std::is_same_v<std::decay_t<decltype(s)>, std::monostate>) f(s);
        },
        ws);
  }

  // Runs the loop until `done` or the timeout; true if done.
  template <class Done>
  bool run_until(Done done, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (ioc.stopped()) ioc.restart();
      const auto left = deadline - std::chrono::steady_clock::now();
      if (left <= std::chrono::steady_clock::duration::zero()) return false;
      ioc.run_one_for(left);
    }
    return true;
  }
};

WsTestClient::WsTestClient(const std::string& url) : WsTestClient(url, Options{}) {}

WsTestClient::WsTestClient(const std::string& url, Options options) : impl_(std::make_unique<Impl>()) {
  const auto parsed = boost::urls::parse_uri(url);
  if (!parsed) throw std::runtime_error("bad url " + url);
  const bool secure = parsed->scheme() == "wss";
  const std::string host(parsed->host_address());
  const std::string port(parsed->port());
  std::string target(parsed->encoded_resource());
  if (target.empty()) target = "/";
  tcp::resolver resolver(impl_->ioc);
  const auto endpoints = resolver.resolve(host, port);
  boost::system::error_code ec;
  bool done = false;
  auto on_done = [&](boost::system::error_code e) {
    ec = e;
    done = true;
  };
  auto decorate = [&](auto& ws) {
    ws.set_option(websocket::stream_base::decorator([auth = options.authorization](websocket::request_type& req) {
      if (!auth.empty()) req.set(http::field::authorization, auth);
    }));
    ws.read_message_max(64 << 20);
  };
  if (secure) {
    if (!options.ca_file.empty()) {
      impl_->tls.set_verify_mode(ssl::verify_peer);
      impl_->tls.load_verify_file(options.ca_file);
    }
    auto& ws = impl_->ws.emplace<TlsWs>(impl_->ioc, impl_->tls);
    decorate(ws);
    beast::get_lowest_layer(ws).expires_after(options.timeout);
    beast::get_lowest_layer(ws).async_connect(endpoints, [&](boost::system::error_code e, const tcp::endpoint&) {
      if (e) return on_done(e);
      SSL_set_tlsext_host_name(ws.next_layer().native_handle(), host.c_str());
      if (!options.ca_file.empty()) ws.next_layer().set_verify_callback(ssl::host_name_verification(host));
      ws.next_layer().async_handshake(ssl::stream_base::client, [&](boost::system::error_code e2) {
        if (e2) return on_done(e2);
        ws.async_handshake(host + ":" + port, target, on_done);
      });
    });
  } else {
    auto& ws = impl_->ws.emplace<PlainWs>(impl_->ioc);
    decorate(ws);
    beast::get_lowest_layer(ws).expires_after(options.timeout);
    beast::get_lowest_layer(ws).async_connect(endpoints, [&](boost::system::error_code e, const tcp::endpoint&) {
      if (e) return on_done(e);
      ws.async_handshake(host + ":" + port, target, on_done);
    });
  }
  impl_->run_until([&] { return done; }, options.timeout + std::chrono::seconds(1));
  if (!done) throw std::runtime_error("connect to " + url + " timed out");
  if (ec) throw std::runtime_error("connect to " + url + " failed: " + ec.message());
  impl_->visit([](auto& ws) { beast::get_lowest_layer(ws).expires_never(); });
}

WsTestClient::~WsTestClient() = default;

void WsTestClient::send(std::string_view text) {
  bool done = false;
  boost::system::error_code ec;
  impl_->visit([&](auto& ws) {
    ws.text(true);
    ws.async_write(net::buffer(text), [&](boost::system::error_code e, std::size_t) {
      ec = e;
      done = true;
    });
  });
  impl_->run_until([&] { return done; }, std::chrono::seconds(10));
  if (!done || ec) throw std::runtime_error("send failed: " + (ec ? ec.message() : std::string("timeout")));
}

std::optional<std::string> WsTestClient::read(std::chrono::milliseconds timeout) {
  if (impl_->is_closed) return std::nullopt;
  if (!impl_->read_pending) {
    impl_->read_pending = true;
    impl_->read_done = false;
    impl_->visit([&](auto& ws) {
      ws.async_read(impl_->buffer, [impl = impl_.get()](boost::system::error_code e, std::size_t) {
        impl->read_ec = e;
        impl->read_done = true;
      });
    });
  }
  if (!impl_->run_until([&] { return impl_->read_done; }, timeout)) return std::nullopt;
  impl_->read_pending = false;
  if (impl_->read_ec) {
    impl_->is_closed = true;
    impl_->visit([&](auto& ws) { impl_->reason = ws.reason(); });
    return std::nullopt;
  }
  std::string message = beast::buffers_to_string(impl_->buffer.data());
  impl_->buffer.consume(impl_->buffer.size());
  return message;
}

bool WsTestClient::closed() const { return impl_->is_closed; }
int WsTestClient::close_code() const { return static_cast<int>(impl_->reason.code); }
std::string WsTestClient::close_reason() const {
  return std::string(impl_->reason.reason.data(), impl_->reason.reason.size());
}

void WsTestClient::close() {
  if (impl_->is_closed) return;
  bool done = false;
  impl_->visit([&](auto& ws) {
    ws.async_close(websocket::close_code::normal, [&](boost::system::error_code) { done = true; });
  });
  impl_->run_until([&] { return done && !impl_->read_pending; }, std::chrono::seconds(5));
  impl_->is_closed = true;
}

namespace {

template <class Ws>
void set_receive_buffer(Ws& ws, int bytes) {
  boost::system::error_code ignored;
  beast::get_lowest_layer(ws).socket().set_option(net::socket_base::receive_buffer_size(bytes), ignored);
}

}  // namespace

void WsTestClient::stop_reading() {
  // Shrinking the receive buffer makes the server's sends back up sooner.
  impl_->visit([](auto& ws) { set_receive_buffer(ws, 4096); });
}

void WsTestClient::resume_reading() {
  impl_->visit([](auto& ws) { set_receive_buffer(ws, 4 << 20); });
}

std::pair<int, std::string> http_get(unsigned short port, const std::string& path, std::chrono::milliseconds timeout) {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  http::response<http::string_body> res;
  beast::flat_buffer buffer;
  bool done = false;
  int status = 0;
  stream.expires_after(timeout);
  stream.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), [&](boost::system::error_code ec) {
    if (ec) {
      done = true;
      return;
    }
    auto req = std::make_shared<http::request<http::empty_body>>(http::verb::get, path, 11);
    req->set(http::field::host, "127.0.0.1");
    http::async_write(stream, *req, [&, req](boost::system::error_code wec, std::size_t) {
      if (wec) {
        done = true;
        return;
      }
      http::async_read(stream, buffer, res, [&](boost::system::error_code rec, std::size_t) {
        if (!rec) status = static_cast<int>(res.result_int());
        done = true;
      });
    });
  });
  ioc.run_for(timeout + std::chrono::seconds(1));
  return {status, res.body()};
}

int handshake_status(const std::string& url, const std::string& authorization) {
  const auto parsed = boost::urls::parse_uri(url);
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(std::chrono::seconds(10));
  tcp::resolver resolver(ioc);
  int status = 0;
  stream.async_connect(
      resolver.resolve(std::string(parsed->host_address()), std::string(parsed->port())),
      [&](boost::system::error_code ec, const tcp::endpoint&) {
        if (ec) return;
        auto req = std::make_shared<http::request<http::empty_body>>(http::verb::get,
                                                                     std::string(parsed->encoded_resource()), 11);
        req->set(http::field::host, std::string(parsed->host_address()));
        req->set(http::field::upgrade, "websocket");
        req->set(http::field::connection, "Upgrade");
        req->set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
        req->set(http::field::sec_websocket_version, "13");
        if (!authorization.empty()) req->set(http::field::authorization, authorization);
        auto buffer = std::make_shared<beast::flat_buffer>();
        auto res = std::make_shared<http::response_parser<http::empty_body>>();
        res->skip(true);
        http::async_write(stream, *req, [&, req, buffer, res](boost::system::error_code wec, std::size_t) {
          if (wec) return;
          http::async_read_header(stream, *buffer, *res, [&, buffer, res](boost::system::error_code rec, std::size_t) {
            if (!rec) status = static_cast<int>(res->get().result_int());
          });
        });
      });
  ioc.run_for(std::chrono::seconds(11));
  return status;
}

}  // namespace tickrelay::test
