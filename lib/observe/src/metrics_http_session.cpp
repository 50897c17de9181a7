#include "metrics_http_session.hpp"

#include <prometheus/text_serializer.h>

#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <exception>

namespace tickrelay::observe {
namespace http = beast::http;

namespace {

// The Prometheus text exposition format, version 0.0.4.
constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4";

std::string_view path_of(std::string_view target) {
  const auto query = target.find('?');
  return query == std::string_view::npos ? target : target.substr(0, query);
}

}  // namespace

MetricsHttpSession::MetricsHttpSession(tcp::socket socket, std::shared_ptr<MetricsServerState> state)
    : stream_(std::move(socket)), state_(std::move(state)) {
  state_->sessions.insert(this);
}

MetricsHttpSession::~MetricsHttpSession() { state_->sessions.erase(this); }

void MetricsHttpSession::start() { do_read(); }

void MetricsHttpSession::close() {
  error_code ignored;
  stream_.socket().close(ignored);
}

void MetricsHttpSession::do_read() {
  // A fresh parser per request: Beast's parser handles one message.
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(state_->limits.max_request_bytes));
  parser_->body_limit(state_->limits.max_request_bytes);
  // The idle timeout covers the wait for the next request on a kept-alive
  // connection as well as a slow request.
  stream_.expires_after(state_->limits.idle_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](error_code ec, std::size_t bytes) { self->on_read(ec, bytes); });
}

void MetricsHttpSession::on_read(error_code ec, std::size_t /*bytes*/) {
  if (ec == http::error::header_limit || ec == http::error::body_limit) {
    response_.emplace(error_response(http::status::payload_too_large, 11));
    do_write(true);
    return;
  }
  if (ec == http::error::end_of_stream || ec) {
    // The client closed, the idle timer fired, or the request was not HTTP:
    // nothing useful can be answered.
    close();
    return;
  }
  const Request& request = parser_->get();
  response_.emplace(answer(request));
  response_->keep_alive(request.keep_alive());
  do_write(!request.keep_alive());
}

void MetricsHttpSession::do_write(bool close_after) {
  response_->prepare_payload();
  if (close_after) response_->keep_alive(false);
  stream_.expires_after(state_->limits.idle_timeout);
  http::async_write(stream_, *response_, [self = shared_from_this(), close_after](error_code ec, std::size_t bytes) {
    self->on_write(close_after, ec, bytes);
  });
}

void MetricsHttpSession::on_write(bool close_after, error_code ec, std::size_t /*bytes*/) {
  if (ec || close_after || state_->stopped) {
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    close();
    return;
  }
  response_.reset();
  do_read();
}

MetricsHttpSession::Response MetricsHttpSession::answer(const Request& request) const {
  const std::string_view path = path_of(request.target());
  const auto document = state_->documents.find(path);
  if (path != "/metrics" && path != "/healthz" && document == state_->documents.end()) {
    return error_response(http::status::not_found, request.version());
  }
  if (request.method() != http::verb::get) {
    Response response = error_response(http::status::method_not_allowed, request.version());
    response.set(http::field::allow, "GET");
    return response;
  }
  Response response{http::status::ok, request.version()};
  response.set(http::field::cache_control, "no-store");
  if (path == "/healthz") {
    auto [healthy, reason] = state_->health ? state_->health() : std::pair<bool, std::string>{true, ""};
    response.result(healthy ? http::status::ok : http::status::service_unavailable);
    response.set(http::field::content_type, "text/plain; charset=utf-8");
    response.body() = healthy ? "ok\n" : reason + "\n";
    return response;
  }
  if (document != state_->documents.end()) {
    const std::string_view target = request.target();
    const auto q = target.find('?');
    response.set(http::field::content_type, "application/json");
    response.body() = document->second(q == std::string_view::npos ? std::string_view() : target.substr(q + 1));
    return response;
  }
  try {
    const auto families = state_->collect ? state_->collect() : std::vector<prometheus::MetricFamily>{};
    response.body() = prometheus::TextSerializer().Serialize(families);
  } catch (const std::exception& e) {
    // A collector bug must not take the program down with it; the scraper
    // records the failed scrape.
    Response failed = error_response(http::status::internal_server_error, request.version());
    failed.body() = std::string("collect failed: ") + e.what() + "\n";
    return failed;
  }
  response.set(http::field::content_type, kMetricsContentType);
  return response;
}

MetricsHttpSession::Response MetricsHttpSession::error_response(http::status status, unsigned version) const {
  Response response{status, version};
  response.set(http::field::content_type, "text/plain; charset=utf-8");
  response.body() = std::string(http::obsolete_reason(status)) + "\n";
  return response;
}

}  // namespace tickrelay::observe
