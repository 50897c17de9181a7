#include "books/rest_client.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <charconv>

#include "tickrelay/wire/duration.hpp"
#include "tickrelay/wire/tls_context.hpp"
#include "upstream/dns_resolver.hpp"

namespace tickrelay::books {
namespace {

namespace http = beast::http;

template <class Stream>
class Request : public std::enable_shared_from_this<Request<Stream>> {
 public:
  template <class... Args>
  Request(upstream::DnsResolver& resolver, RestTarget target, std::string path, double timeout_seconds,
          std::size_t max_body_bytes, std::function<void(RestResponse)> done, Args&&... args)
      : resolver_(resolver),
        target_(std::move(target)),
        path_(std::move(path)),
        timeout_(wire::to_duration(timeout_seconds)),
        done_(std::move(done)),
        stream_(std::forward<Args>(args)...) {
    parser_.body_limit(max_body_bytes);
    parser_.header_limit(64 * 1024);
  }

  void start() {
    resolver_.resolve(target_.host, target_.port,
                      [self = this->shared_from_this()](error_code ec, std::vector<tcp::endpoint> endpoints) {
                        if (ec) return self->finish(ec);
                        self->connect(std::move(endpoints));
                      });
  }

 private:
  beast::tcp_stream& tcp() {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>)
      return stream_;
    else
      return stream_.next_layer();
  }

  void connect(std::vector<tcp::endpoint> endpoints) {
    tcp().expires_after(timeout_);
    tcp().async_connect(endpoints, [self = this->shared_from_this()](error_code ec, const tcp::endpoint&) {
      if (ec) return self->finish(ec);
      if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
        self->send();
      } else {
        if (!wire::prepare_client_tls_stream(self->stream_.native_handle(), self->target_.host, self->target_.verify))
          return self->finish(net::error::invalid_argument);
        self->stream_.async_handshake(ssl::stream_base::client, [self](error_code hs_ec) {
          if (hs_ec) return self->finish(hs_ec);
          self->send();
        });
      }
    });
  }

  void send() {
    request_ = {http::verb::get, path_, 11};
    request_.set(http::field::host, target_.host);
    request_.set(http::field::user_agent, "tickrelay/" TICKRELAY_VERSION);
    request_.set(http::field::accept, "application/json");
    request_.keep_alive(false);
    http::async_write(stream_, request_, [self = this->shared_from_this()](error_code ec, std::size_t) {
      if (ec) return self->finish(ec);
      http::async_read(self->stream_, self->buffer_, self->parser_,
                       [self](error_code read_ec, std::size_t) { self->on_read(read_ec); });
    });
  }

  void on_read(error_code ec) {
    if (ec) return finish(ec);
    auto& res = parser_.get();
    RestResponse out;
    out.status = res.result_int();
    out.body = std::move(res.body());
    const std::string_view retry = res[http::field::retry_after];
    unsigned seconds = 0;
    if (std::from_chars(retry.data(), retry.data() + retry.size(), seconds).ec == std::errc{}) {
      out.retry_after_seconds = seconds;
    }
    done(std::move(out));
    // Shut down without waiting for the peer: the answer is in.
    error_code ignored;
    tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp().close();
  }

  void finish(error_code ec) {
    RestResponse out;
    out.error = ec ? ec : net::error::operation_aborted;
    done(std::move(out));
    tcp().close();
  }

  void done(RestResponse response) {
    if (!done_) return;
    auto done = std::move(done_);
    done_ = nullptr;
    done(std::move(response));
  }

  upstream::DnsResolver& resolver_;
  RestTarget target_;
  std::string path_;
  std::chrono::steady_clock::duration timeout_;
  std::function<void(RestResponse)> done_;
  Stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::empty_body> request_;
  http::response_parser<http::string_body> parser_;
};

}  // namespace

void RestClient::get(const RestTarget& target, std::string path, std::function<void(RestResponse)> done) {
  if (target.tls) {
    auto request = std::make_shared<Request<ssl::stream<beast::tcp_stream>>>(resolver_, target, std::move(path),
                                                                             timeout_seconds_, max_body_bytes_,
                                                                             std::move(done), ioc_,
                                                                             *target.tls_context);
    request->start();
  } else {
    auto request = std::make_shared<Request<beast::tcp_stream>>(resolver_, target, std::move(path), timeout_seconds_,
                                                                max_body_bytes_, std::move(done), ioc_);
    request->start();
  }
}

}  // namespace tickrelay::books
