#include "books/book_service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/url/parse.hpp>
#include <cctype>
#include <random>
#include <stdexcept>

#include "tickrelay/fanout/depth_request.hpp"
#include "tickrelay/fanout/router.hpp"
#include "tickrelay/wire/duration.hpp"
#include "tickrelay/wire/tls_context.hpp"

namespace tickrelay::books {
namespace {

namespace http = beast::http;
using config::Product;

constexpr std::size_t kMaxPendingPerBook = 256;
constexpr std::size_t kMaxClientWindows = 4096;
constexpr auto kSweep = std::chrono::milliseconds(100);

fanout::RestApi api_of(Product product) {
  switch (product) {
    case Product::spot: return fanout::RestApi::spot;
    case Product::usdm_futures: return fanout::RestApi::usdm;
    case Product::coinm_futures: return fanout::RestApi::coinm;
  }
  return fanout::RestApi::spot;
}

Product product_of(fanout::RestApi api) {
  switch (api) {
    case fanout::RestApi::spot: return Product::spot;
    case fanout::RestApi::usdm: return Product::usdm_futures;
    case fanout::RestApi::coinm: return Product::coinm_futures;
  }
  return Product::spot;
}

std::string book_key(Product product, std::string_view symbol) {
  return std::string(config::product_name(product)) + ":" + std::string(symbol);
}

std::string upper(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

double uniform() {
  static std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0, 1)(rng);
}

}  // namespace

struct BookService::Api {
  Api(net::io_context& ioc, const config::BooksConfig& config)
      : window(config.weight_per_minute, std::chrono::minutes(1)), backoff(0.5, 60, uniform), timer(ioc) {}
  std::string name;
  std::string url;
  Product product = Product::spot;
  RestTarget target;
  std::unique_ptr<ssl::context> tls;
  upstream::RateWindow window;
  upstream::Backoff backoff;
  std::deque<std::string> queue;  // book keys waiting for a request
  std::size_t in_flight = 0;
  Clock::time_point paused_until{};
  net::steady_timer timer;
  Clock::time_point armed_for = Clock::time_point::max();
};

struct BookService::Book {
  Book(BookRule rule, const config::BooksConfig& config) : sync(rule, config.max_levels, config.max_buffered_events) {}
  std::string key;
  std::string symbol;  // as in REST queries: BTCUSDT
  std::string stream_name;
  Product product = Product::spot;
  Api* api = nullptr;
  fanout::StreamId stream = fanout::kNoStream;
  BookSync sync;
  std::uint64_t generation = 0;
  bool queued = false;
  Clock::time_point changed{};
  std::vector<Pending> pending;
};

BookService::BookService(net::io_context& ioc, config::BooksConfig config, const fanout::Router& router,
                         upstream::DnsResolver& resolver, spdlog::logger& log)
    : ioc_(ioc),
      config_(std::move(config)),
      router_(router),
      log_(log),
      client_(ioc, resolver, config_.request_timeout_seconds, 64 << 20),
      sweep_timer_(ioc) {}

BookService::~BookService() { *alive_ = false; }

void BookService::configure(const std::vector<config::UpstreamConfig>& upstreams) {
  struct Feed {
    std::string stream;
    std::string api;
    Product product;
  };
  std::map<std::string, Feed> wanted;
  for (const auto& up : upstreams) {
    if (up.type != config::UpstreamType::binance || !config_.enabled) continue;
    auto& api = apis_[up.name];
    if (!api || api->url != up.rest_url) {
      const auto url = boost::urls::parse_uri(up.rest_url);
      if (!url || url->host().empty())
        throw std::runtime_error("upstream " + up.name + ": bad rest_url " + up.rest_url);
      auto next = std::make_unique<Api>(ioc_, config_);
      next->name = up.name;
      next->url = up.rest_url;
      next->target.host = std::string(url->host());
      next->target.tls = url->scheme() == "https";
      next->target.port = url->has_port() ? static_cast<unsigned short>(url->port_number())
                                          : (next->target.tls ? 443 : 80);
      next->target.verify = up.tls.verify;
      if (next->target.tls) {
        next->tls = std::make_unique<ssl::context>(
            wire::make_client_tls_context(wire::TlsClientOptions{up.tls.verify, up.tls.ca_file}));
        next->target.tls_context = next->tls.get();
      }
      if (api) {
        // Requests under way finish against the old one's counts.
        next->window = api->window;
        next->in_flight = api->in_flight;
        api->timer.cancel();
      }
      api = std::move(next);
    }
    api->product = up.product;
    for (const auto& name : up.streams) {
      const auto parsed = fanout::parse_stream_name(name);
      if (!parsed || parsed->kind != fanout::StreamKind::diff_depth) continue;
      wanted.try_emplace(book_key(up.product, upper(parsed->symbol)), Feed{name, up.name, up.product});
    }
  }
  for (auto it = books_.begin(); it != books_.end();) {
    const auto w = wanted.find(it->first);
    if (w == wanted.end() || w->second.stream != it->second->stream_name) {
      drop(*it->second);
      it = books_.erase(it);
    } else {
      it->second->api = apis_.at(w->second.api).get();
      ++it;
    }
  }
  for (const auto& [key, feed] : wanted) {
    if (books_.contains(key)) continue;
    const auto id = router_.find(feed.stream);
    if (id == fanout::kNoStream) continue;
    auto book = std::make_unique<Book>(feed.product == Product::spot ? BookRule::spot : BookRule::futures, config_);
    book->key = key;
    book->symbol = upper(fanout::parse_stream_name(feed.stream)->symbol);
    book->stream_name = feed.stream;
    book->product = feed.product;
    book->api = apis_.at(feed.api).get();
    book->stream = id;
    book->generation = next_generation_++;
    books_.emplace(key, std::move(book));
  }
  by_stream_.assign(by_stream_.size(), nullptr);
  for (auto& [key, book] : books_) {
    if (book->stream >= by_stream_.size()) by_stream_.resize(book->stream + 1, nullptr);
    by_stream_[book->stream] = book.get();
  }
  if (!books_.empty()) log_.info("order books kept count={}", books_.size());
}

void BookService::drop(Book& book) {
  for (std::size_t i = 0; i < kResyncReasonCount; ++i) dropped_resyncs_[i] += book.sync.resyncs()[i];
  for (auto& p : book.pending) p.reply(error(http::status::bad_request, -1121, "Invalid symbol."));
  book.pending.clear();
  log_.info("order book dropped book={}", book.key);
}

void BookService::on_event(fanout::StreamId stream, std::string_view message) {
  if (stream >= by_stream_.size() || by_stream_[stream] == nullptr) return;
  Book& book = *by_stream_[stream];
  if (const char* why = parser_.parse_update(message, update_)) {
    ++counters_.malformed_events;
    log_.debug("depth event skipped book={} reason=\"{}\"", book.key, why);
    return;
  }
  const bool was_synced = book.sync.synced();
  const bool need = book.sync.on_update(std::move(update_));
  if (book.sync.synced()) {
    book.changed = Clock::now();
    if (!book.pending.empty()) answer_pending(book);
  } else if (was_synced) {
    log_.info("order book out of step, resyncing book={}", book.key);
  }
  if (need) request_snapshot(book);
}

void BookService::request_snapshot(Book& book) {
  if (book.queued || stopped_) return;
  book.queued = true;
  book.sync.snapshot_requested();
  book.api->queue.push_back(book.key);
  pump(*book.api);
}

void BookService::arm(Api& api, Clock::time_point at) {
  if (api.armed_for <= at) return;
  api.armed_for = at;
  api.timer.expires_at(at);
  api.timer.async_wait([this, alive = std::weak_ptr<bool>(alive_), &api](error_code ec) {
    if (ec || alive.expired()) return;
    api.armed_for = Clock::time_point::max();
    pump(api);
  });
}

void BookService::pump(Api& api) {
  const auto now = Clock::now();
  while (!stopped_ && api.in_flight < config_.max_concurrent_snapshots && !api.queue.empty()) {
    if (now < api.paused_until) return arm(api, api.paused_until);
    const auto it = books_.find(api.queue.front());
    if (it == books_.end() || it->second->api != &api || !it->second->queued) {
      api.queue.pop_front();  // dropped or moved meanwhile
      continue;
    }
    Book& book = *it->second;
    const auto limit = fanout::largest_depth_limit(api_of(api.product), static_cast<int>(config_.snapshot_limit));
    const auto weight = static_cast<std::size_t>(fanout::depth_weight(api_of(api.product), limit));
    const auto at = api.window.next_allowed(now, weight);
    if (at > now) return arm(api, at);
    api.window.record(now, weight);
    api.queue.pop_front();
    ++api.in_flight;
    ++counters_.snapshot_requests;
    counters_.snapshot_weight += weight;
    const std::string path = std::string(fanout::depth_path(api_of(api.product))) + "?symbol=" + book.symbol +
                             "&limit=" + std::to_string(limit);
    log_.debug("depth snapshot requested book={} weight={} used={}", book.key, weight, api.window.used(now));
    client_.get(api.target, path,
                [this, alive = std::weak_ptr<bool>(alive_), name = api.name, key = book.key,
                 generation = book.generation](RestResponse response) {
                  if (alive.expired()) return;
                  const auto a = apis_.find(name);
                  if (a != apis_.end()) on_snapshot(*a->second, key, generation, std::move(response));
                });
  }
}

void BookService::on_snapshot(Api& api, const std::string& key, std::uint64_t generation, RestResponse response) {
  if (api.in_flight > 0) --api.in_flight;
  const auto it = books_.find(key);
  Book* book = it != books_.end() && it->second->generation == generation ? it->second.get() : nullptr;
  if (book == nullptr || stopped_) return pump(api);
  book->queued = false;
  DepthSnapshot snapshot;
  const char* why = nullptr;
  if (response.error) {
    why = "no answer";
  } else if (response.status != 200) {
    why = "HTTP error";
  } else {
    why = parser_.parse_snapshot(response.body, snapshot);
  }
  const auto now = Clock::now();
  if (why != nullptr) {
    ++counters_.snapshot_failures;
    if (response.status == 429 || response.status == 418) {
      // Binance: back off for Retry-After, or an IP ban follows.
      ++counters_.snapshot_rate_limited;
      const double wait = response.retry_after_seconds > 0 ? response.retry_after_seconds : 60;
      api.paused_until = now + wire::to_duration(wait);
    } else {
      api.paused_until = now + wire::to_duration(api.backoff.next());
    }
    log_.warn("depth snapshot failed book={} reason=\"{}\" status={} error=\"{}\"", key, why, response.status,
              response.error.message());
    book->sync.on_snapshot_failed();
    request_snapshot(*book);
    return pump(api);
  }
  api.backoff.reset();
  const bool again = book->sync.on_snapshot(snapshot);
  if (book->sync.synced()) {
    book->changed = now;
    log_.debug("order book in step book={} lastUpdateId={}", key, book->sync.book().last_update_id());
    answer_pending(*book);
  }
  if (again) request_snapshot(*book);
  pump(api);
}

RestAnswer BookService::answer(Book& book, std::size_t limit) const {
  RestAnswer out;
  out.body = book.sync.book().json(limit, book.product != Product::spot, book.sync.event_time(),
                                   book.sync.transaction_time());
  return out;
}

RestAnswer BookService::error(http::status status, int code, std::string message) const {
  RestAnswer out;
  out.status = status;
  std::string escaped;
  for (const char c : message) {
    if (c == '"' || c == '\\') escaped += '\\';
    escaped += c;
  }
  out.body = R"({"code":)" + std::to_string(code) + R"(,"msg":")" + escaped + R"("})";
  return out;
}

void BookService::answer_pending(Book& book) {
  auto pending = std::move(book.pending);
  book.pending.clear();
  for (auto& p : pending) {
    ++counters_.rest_answers;
    p.reply(answer(book, p.limit));
  }
}

void BookService::sweep_pending() {
  const auto now = Clock::now();
  bool left = false;
  for (auto& [key, book] : books_) {
    std::erase_if(book->pending, [&](Pending& p) {
      if (p.deadline > now) return false;
      ++counters_.rest_errors;
      p.reply(
          error(http::status::service_unavailable, -1007,
                "Timeout waiting for response from backend server. Send status unknown; execution status unknown."));
      return true;
    });
    left = left || !book->pending.empty();
  }
  sweeping_ = left;
  if (left) schedule_sweep();
}

void BookService::schedule_sweep() {
  sweeping_ = true;
  sweep_timer_.expires_after(kSweep);
  sweep_timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](error_code ec) {
    if (!ec && !alive.expired()) sweep_pending();
  });
}

bool BookService::serves(std::string_view path) const { return fanout::depth_api_of(path).has_value(); }

void BookService::get(std::string_view target, const net::ip::address& peer, Reply reply) {
  const auto url = boost::urls::parse_origin_form(target);
  if (!url) {
    ++counters_.rest_errors;
    return reply(error(http::status::bad_request, -1100, "Illegal characters found in a parameter."));
  }
  const auto rest_api = fanout::depth_api_of(url->encoded_path()).value_or(fanout::RestApi::spot);
  const Product product = product_of(rest_api);
  std::string symbol;
  std::string limit_text;
  bool has_symbol = false;
  bool has_limit = false;
  for (const auto param : url->params()) {
    if (param.key == "symbol") {
      symbol = upper(param.value);
      has_symbol = true;
    } else if (param.key == "limit") {
      limit_text = param.value;
      has_limit = true;
    }
  }
  const auto parsed_limit = has_limit ? fanout::parse_depth_limit(rest_api, limit_text)
                                      : std::optional<int>(fanout::default_depth_limit(rest_api));
  const bool limit_ok = parsed_limit.has_value();
  const auto limit = static_cast<std::size_t>(parsed_limit.value_or(fanout::default_depth_limit(rest_api)));
  // The client pays Binance's weight, bad requests at the default limit.
  const auto weight = static_cast<std::size_t>(fanout::depth_weight(rest_api, static_cast<int>(limit)));
  const auto now = Clock::now();
  if (clients_.size() >= kMaxClientWindows) {
    for (auto it = clients_.begin(); it != clients_.end();)
      it = it->second.idle(now) ? clients_.erase(it) : std::next(it);
  }
  if (clients_.size() >= kMaxClientWindows && !clients_.contains(peer)) {
    // So many addresses within a minute: the windows' memory stays bounded.
    ++counters_.rest_rate_limited;
    auto out = error(http::status::too_many_requests, -1003, "Too many requests; try again later.");
    out.headers.emplace_back("Retry-After", "60");
    return reply(std::move(out));
  }
  auto& window = clients_.try_emplace(peer, config_.client_weight_per_minute, std::chrono::minutes(1)).first->second;
  const auto allowed = window.next_allowed(now, weight);
  if (allowed > now) {
    ++counters_.rest_rate_limited;
    auto out = error(http::status::too_many_requests, -1003,
                     "Too much request weight used; current limit is " +
                         std::to_string(config_.client_weight_per_minute) +
                         " request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling "
                         "the API.");
    const auto seconds = std::chrono::ceil<std::chrono::seconds>(allowed - now).count();
    out.headers.emplace_back("Retry-After", std::to_string(std::max<std::int64_t>(1, seconds)));
    return reply(std::move(out));
  }
  window.record(now, weight);
  const auto used = std::to_string(window.used(now));
  auto with_weight = [&](RestAnswer a) {
    a.headers.emplace_back("X-MBX-USED-WEIGHT-1M", used);
    return a;
  };
  if (!has_symbol || symbol.empty()) {
    ++counters_.rest_errors;
    return reply(with_weight(error(http::status::bad_request, -1102,
                                   "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")));
  }
  if (!limit_ok) {
    ++counters_.rest_errors;
    return reply(with_weight(error(http::status::bad_request, -1100,
                                   product == Product::spot
                                       ? "Illegal characters found in parameter 'limit'; legal range is '1' to '5000'."
                                       : "Illegal characters found in parameter 'limit'; legal values are 5, 10, 20, "
                                         "50, 100, 500, 1000.")));
  }
  const auto it = books_.find(book_key(product, symbol));
  if (it == books_.end()) {
    ++counters_.rest_errors;
    return reply(with_weight(error(http::status::bad_request, -1121, "Invalid symbol.")));
  }
  Book& book = *it->second;
  if (book.sync.synced()) {
    ++counters_.rest_answers;
    return reply(with_weight(answer(book, limit)));
  }
  if (stopped_ || config_.wait_seconds <= 0 || book.pending.size() >= kMaxPendingPerBook) {
    ++counters_.rest_errors;
    return reply(with_weight(error(http::status::service_unavailable, -1007,
                                   "Timeout waiting for response from backend server. Send status unknown; execution "
                                   "status unknown.")));
  }
  // Still syncing: answered once the book is in step, or at the deadline.
  book.pending.push_back(Pending{[reply = std::move(reply), used](RestAnswer a) {
                                   a.headers.emplace_back("X-MBX-USED-WEIGHT-1M", used);
                                   reply(std::move(a));
                                 },
                                 limit, now + wire::to_duration(config_.wait_seconds)});
  if (!sweeping_) schedule_sweep();
}

void BookService::stop() {
  if (stopped_) return;
  stopped_ = true;
  sweep_timer_.cancel();
  for (auto& [name, api] : apis_) api->timer.cancel();
  for (auto& [key, book] : books_) {
    for (auto& p : book->pending)
      p.reply(error(http::status::service_unavailable, -1007, "The relay is shutting down."));
    book->pending.clear();
  }
}

std::array<std::uint64_t, kResyncReasonCount> BookService::resyncs() const {
  auto out = dropped_resyncs_;
  for (const auto& [key, book] : books_) {
    for (std::size_t i = 0; i < kResyncReasonCount; ++i) out[i] += book->sync.resyncs()[i];
  }
  return out;
}

std::size_t BookService::synced_count() const {
  return static_cast<std::size_t>(
      std::count_if(books_.begin(), books_.end(), [](const auto& entry) { return entry.second->sync.synced(); }));
}

std::size_t BookService::level_count() const {
  std::size_t n = 0;
  for (const auto& [key, book] : books_) n += book->sync.book().bid_levels() + book->sync.book().ask_levels();
  return n;
}

std::size_t BookService::bytes() const {
  std::size_t n = 0;
  for (const auto& [key, book] : books_) n += book->sync.book().bytes();
  return n;
}

double BookService::oldest_age_seconds() const {
  const auto now = Clock::now();
  double oldest = 0;
  for (const auto& [key, book] : books_) {
    if (!book->sync.synced()) continue;
    oldest = std::max(oldest, std::chrono::duration<double>(now - book->changed).count());
  }
  return oldest;
}

}  // namespace tickrelay::books
