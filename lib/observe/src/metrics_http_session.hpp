#pragma once
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <map>
#include <memory>
#include <optional>
#include <unordered_set>

#include "tickrelay/observe/metrics_server.hpp"
#include "tickrelay/wire/asio.hpp"

namespace tickrelay::observe {

class MetricsHttpSession;

// What the server and its sessions share. Sessions register here while they
// live so that stop() can close them.
struct MetricsServerState {
  MetricsServer::Collect collect;
  MetricsServer::HealthCheck health;
  std::map<std::string, MetricsServer::Document, std::less<>> documents;
  MetricsServerLimits limits;
  std::unordered_set<MetricsHttpSession*> sessions;
  bool stopped = false;
};

// One HTTP/1.1 connection to the metrics endpoint: read a request, answer,
// repeat while the client keeps the connection alive and not idle.
class MetricsHttpSession : public std::enable_shared_from_this<MetricsHttpSession> {
 public:
  MetricsHttpSession(tcp::socket socket, std::shared_ptr<MetricsServerState> state);
  ~MetricsHttpSession();
  MetricsHttpSession(const MetricsHttpSession&) = delete;
  MetricsHttpSession& operator=(const MetricsHttpSession&) = delete;

  void start();
  void close();

 private:
  using Request = beast::http::request<beast::http::string_body>;
  using Response = beast::http::response<beast::http::string_body>;

  void do_read();
  void on_read(error_code ec, std::size_t bytes);
  void do_write(bool close_after);
  void on_write(bool close_after, error_code ec, std::size_t bytes);
  Response answer(const Request& request) const;
  Response error_response(beast::http::status status, unsigned version) const;

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::shared_ptr<MetricsServerState> state_;
  std::optional<beast::http::request_parser<beast::http::string_body>> parser_;
  std::optional<Response> response_;
};

}  // namespace tickrelay::observe
