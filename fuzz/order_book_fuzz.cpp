// Order books from the network. Each line of the input is one message: 'S'
// then a REST snapshot body (the upstream's API), 'Q' then a client's
// request target for the relay's depth paths, anything else a diff-depth
// event from the upstream. Snapshots and events go through DepthParser and
// BookSync (spot rules when the input's first byte is even, futures when
// odd), events and queries through BookService too. The books must stay
// within their bounds, and every query is answered exactly once.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "books/book_service.hpp"
#include "books/book_sync.hpp"
#include "books/depth_message.hpp"
#include "tickrelay/fanout/router.hpp"
#include "tickrelay/fanout/stream_name.hpp"
#include "upstream/dns_resolver.hpp"

namespace {

using namespace tickrelay;

constexpr std::size_t kMaxLevels = 50;
constexpr std::size_t kMaxBuffered = 20;

void check(const books::OrderBook& book) {
  if (book.bid_levels() > kMaxLevels || book.ask_levels() > kMaxLevels) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool spot = (data[0] & 1) == 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

  net::io_context ioc;
  static auto log = std::make_shared<spdlog::logger>("fuzz", std::make_shared<spdlog::sinks::null_sink_st>());
  fanout::Router router;
  const char* stream = "btcusdt@depth@100ms";
  const auto id = router.add_stream(stream, fanout::StreamKind::diff_depth, false);
  upstream::DnsResolver resolver(ioc);
  config::BooksConfig config;
  config.max_levels = kMaxLevels;
  config.max_buffered_events = kMaxBuffered;
  books::BookService service(ioc, config, router, resolver, *log);
  config::UpstreamConfig up;
  up.name = "fuzz";
  up.product = spot ? config::Product::spot : config::Product::usdm_futures;
  up.rest_url = "http://127.0.0.1:9";
  up.streams = {stream};
  service.configure({up});

  books::DepthParser parser;
  books::BookSync sync(spot ? books::BookRule::spot : books::BookRule::futures, kMaxLevels, kMaxBuffered);
  std::size_t asked = 0;
  std::size_t answered = 0;
  std::size_t at = 0;
  while (at <= input.size()) {
    const auto end = std::min(input.find('\n', at), input.size());
    const auto line = input.substr(at, end - at);
    at = end + 1;
    if (line.empty()) continue;
    if (line[0] == 'S') {
      books::DepthSnapshot snapshot;
      if (parser.parse_snapshot(line.substr(1), snapshot) == nullptr) {
        if (!sync.awaiting_snapshot()) sync.snapshot_requested();
        sync.on_snapshot(snapshot);
      }
    } else if (line[0] == 'Q') {
      ++asked;
      service.get(line.substr(1), net::ip::make_address("127.0.0.1"), [&](fanout::RestAnswer answer) {
        ++answered;
        if (answer.body.empty()) std::abort();
      });
    } else {
      books::DepthUpdate update;
      if (parser.parse_update(line, update) == nullptr) {
        if (sync.on_update(std::move(update))) sync.snapshot_requested();
      }
      service.on_event(id, line);
    }
    check(sync.book());
    if (sync.buffered() > kMaxBuffered) std::abort();
    (void)sync.book().json(kMaxLevels, !spot, sync.event_time(), sync.transaction_time());
  }
  // Queries still waiting for a book in step are answered at shutdown.
  service.stop();
  if (answered != asked) std::abort();
  return 0;
}
