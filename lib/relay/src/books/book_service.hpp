#pragma once
// The relay's order books: one per (product, symbol) whose diff-depth stream
// an upstream carries, kept by BookSync from the stream and REST snapshots
// of the upstream's API, and served on the client port at Binance's REST
// paths (/api/v3/depth, /fapi/v1/depth, /dapi/v1/depth) with the
// lastUpdateId of the last diff the relay has delivered. Snapshot requests
// are paced under a request-weight budget per API, one minute wide, with
// backoff and Binance's Retry-After honoured; clients are held to a weight
// budget per address, as Binance holds the relay (config/README.md, `books`).
#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "books/book_sync.hpp"
#include "books/depth_message.hpp"
#include "books/rest_client.hpp"
#include "tickrelay/fanout/frame.hpp"
#include "tickrelay/fanout/rest_handler.hpp"
#include "tickrelay/fanout/stream_name.hpp"
#include "tickrelay/relay/config.hpp"
#include "tickrelay/wire/asio.hpp"
#include "upstream/backoff.hpp"
#include "upstream/rate_window.hpp"

namespace spdlog {
class logger;
}
namespace tickrelay::fanout {
class Router;
}
namespace tickrelay::upstream {
class DnsResolver;
}

namespace tickrelay::books {

using fanout::RestAnswer;

struct BookCounters {
  std::uint64_t snapshot_requests = 0;
  std::uint64_t snapshot_failures = 0;
  std::uint64_t snapshot_rate_limited = 0;  // 429 or 418 from the API
  std::uint64_t snapshot_weight = 0;
  std::uint64_t malformed_events = 0;
  std::uint64_t rest_answers = 0;       // 200 to clients
  std::uint64_t rest_errors = 0;        // 4xx, 5xx to clients
  std::uint64_t rest_rate_limited = 0;  // 429 to clients
};

class BookService final : public fanout::RestHandler {
 public:
  using Clock = std::chrono::steady_clock;

  BookService(net::io_context& ioc, config::BooksConfig config, const fanout::Router& router,
              upstream::DnsResolver& resolver, spdlog::logger& log);
  ~BookService();
  BookService(const BookService&) = delete;
  BookService& operator=(const BookService&) = delete;

  // The books to keep: the diff-depth streams of the Binance upstreams.
  // Books no longer named are dropped; those still named keep their state.
  // Throws std::runtime_error for a bad rest_url or CA file.
  void configure(const std::vector<config::UpstreamConfig>& upstreams);
  // An upstream event after de-duplication (Ingest's tap).
  void on_event(fanout::StreamId stream, std::string_view message);
  void stop();

  bool serves(std::string_view path) const override;
  void get(std::string_view target, const net::ip::address& peer, Reply reply) override;

  const BookCounters& counters() const { return counters_; }
  // Resyncs by reason, books since dropped included.
  std::array<std::uint64_t, kResyncReasonCount> resyncs() const;
  std::size_t book_count() const { return books_.size(); }
  std::size_t synced_count() const;
  std::size_t level_count() const;
  std::size_t bytes() const;
  // Seconds since the least recently updated synced book changed; 0 if none.
  double oldest_age_seconds() const;

 private:
  struct Api;
  struct Book;
  struct Pending {
    Reply reply;
    std::size_t limit;
    Clock::time_point deadline;
  };

  void request_snapshot(Book& book);
  void pump(Api& api);
  void arm(Api& api, Clock::time_point at);
  void on_snapshot(Api& api, const std::string& key, std::uint64_t generation, RestResponse response);
  void answer_pending(Book& book);
  void sweep_pending();
  // Runs sweep_pending shortly: requests waiting for a book time out.
  void schedule_sweep();
  void drop(Book& book);
  RestAnswer answer(Book& book, std::size_t limit) const;
  RestAnswer error(beast::http::status status, int code, std::string message) const;

  net::io_context& ioc_;
  config::BooksConfig config_;
  const fanout::Router& router_;
  spdlog::logger& log_;
  RestClient client_;
  DepthParser parser_;
  DepthUpdate update_;
  std::map<std::string, std::unique_ptr<Api>> apis_;    // by upstream name
  std::map<std::string, std::unique_ptr<Book>> books_;  // by "<product>:<SYMBOL>"
  std::vector<Book*> by_stream_;
  std::map<net::ip::address, upstream::RateWindow> clients_;
  net::steady_timer sweep_timer_;
  bool sweeping_ = false;
  bool stopped_ = false;
  std::uint64_t next_generation_ = 1;
  BookCounters counters_;
  std::array<std::uint64_t, kResyncReasonCount> dropped_resyncs_{};
  // Completions of requests and timers check it: the service may be gone.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace tickrelay::books
