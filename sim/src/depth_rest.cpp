#include "depth_rest.hpp"

#include <algorithm>
#include <array>
#include <charconv>

#include "event_renderer.hpp"
#include "market_model.hpp"
#include "symbol_list.hpp"

namespace tickrelay::sim {
namespace {

namespace http = beast::http;

constexpr std::int64_t kUsPerMs = 1000;
constexpr std::int64_t kUsPerSecond = 1'000'000;
constexpr std::int64_t kUsPerMinute = 60 * kUsPerSecond;
constexpr std::int64_t kWindowMs = 60'000;
// Binance's header; clients read it to pace themselves.
constexpr std::string_view kUsedWeightHeader = "X-MBX-USED-WEIGHT-1M";

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

std::string error_body(int code, std::string_view msg) {
  std::string body = R"({"code":)" + std::to_string(code) + R"(,"msg":")";
  body += msg;
  body += R"("})";
  return body;
}

// The first value of `key` in a query string; nullopt when absent.
std::optional<std::string_view> query_value(std::string_view query, std::string_view key) {
  // Each turn consumes one parameter, so the loop ends within the query's length.
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) != key) continue;
    return eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
  }
  return std::nullopt;
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool is_upper_symbol(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); });
}

void append_stats(std::string& out, const RestStats& s) {
  out += R"({"requests":)" + std::to_string(s.requests) + R"(,"weight":)" + std::to_string(s.weight) +
         R"(,"refused":)" + std::to_string(s.refused) + R"(,"max_weight_60s":)" + std::to_string(s.max_weight_60s) +
         "}";
}

}  // namespace

void DepthRest::Counter::charge(std::int64_t now_ms, std::uint64_t weight) {
  stats.weight += weight;
  if (!recent.empty() && recent.back().first == now_ms) {
    recent.back().second += weight;
  } else {
    recent.emplace_back(now_ms, weight);
  }
  recent_sum += weight;
  // At most one entry per millisecond of the window stays.
  while (!recent.empty() && recent.front().first <= now_ms - kWindowMs) {
    recent_sum -= recent.front().second;
    recent.pop_front();
  }
  // The busiest window ends at some charge, so checking at each is exact.
  stats.max_weight_60s = std::max(stats.max_weight_60s, recent_sum);
}

DepthRest::DepthRest(MarketModel& model, const SymbolList& symbols, std::optional<std::uint64_t> weight_limit)
    : model_(model),
      symbols_(symbols),
      limits_{weight_limit.value_or(kSpotWeightLimit), weight_limit.value_or(kFuturesWeightLimit),
              weight_limit.value_or(kFuturesWeightLimit)} {}

bool DepthRest::serves(std::string_view path) { return path == kRestStatsPath || depth_api_of(path).has_value(); }

fanout::RestAnswer DepthRest::answer(std::string_view target, std::string_view client, std::int64_t now_us) {
  const auto question = target.find('?');
  const auto path = target.substr(0, question);
  const auto query = question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);
  if (path == kRestStatsPath) return {http::status::ok, stats_json(), {}};
  const auto api = depth_api_of(path);
  if (!api) return {http::status::not_found, error_body(-1000, "Unknown path."), {}};
  return depth(*api, query, client, now_us);
}

void DepthRest::forget_old_minutes(std::int64_t minute) {
  if (minute == pruned_minute_) return;
  // Once a minute: the map holds only the clients of the current minute.
  pruned_minute_ = minute;
  std::erase_if(use_, [minute](const auto& entry) { return entry.second.minute != minute; });
}

std::uint64_t DepthRest::used_weight(RestApi api, std::string_view client, std::int64_t now_us) const {
  const auto it = use_.find({std::string(client), api});
  if (it == use_.end() || it->second.minute != floor_div(now_us, kUsPerMinute)) return 0;
  return it->second.used;
}

fanout::RestAnswer DepthRest::depth(RestApi api, std::string_view query, std::string_view client, std::int64_t now_us) {
  Counter& counter = by_api_[static_cast<std::size_t>(api)];
  ++counter.stats.requests;
  ++total_.stats.requests;

  const auto symbol = query_value(query, "symbol");
  const auto limit_text = query_value(query, "limit");
  const std::optional<int> limit = limit_text ? parse_depth_limit(api, *limit_text) : default_depth_limit(api);
  const auto weight = static_cast<std::uint64_t>(depth_weight(api, limit.value_or(default_depth_limit(api))));

  // Binance counts by UTC minute, not a sliding minute: the count starts
  // over at each minute's start.
  const std::int64_t minute = floor_div(now_us, kUsPerMinute);
  forget_old_minutes(minute);
  MinuteUse& use = use_[{std::string(client), api}];
  if (use.minute != minute) use = MinuteUse{minute, 0};
  const std::uint64_t cap = limits_[static_cast<std::size_t>(api)];
  if (use.used + weight > cap) {
    ++counter.stats.refused;
    ++total_.stats.refused;
    const std::int64_t to_next = (minute + 1) * kUsPerMinute - now_us;
    const std::int64_t retry_after = std::max<std::int64_t>(1, (to_next + kUsPerSecond - 1) / kUsPerSecond);
    return {http::status::too_many_requests,
            error_body(-1003, "Too much request weight used; current limit is " + std::to_string(cap) +
                                  " request weight per 1 MINUTE."),
            {{std::string(kUsedWeightHeader), std::to_string(use.used)}, {"Retry-After", std::to_string(retry_after)}}};
  }
  use.used += weight;
  const std::int64_t now_ms = floor_div(now_us, kUsPerMs);
  counter.charge(now_ms, weight);
  total_.charge(now_ms, weight);
  std::vector<std::pair<std::string, std::string>> headers{{std::string(kUsedWeightHeader), std::to_string(use.used)}};

  // Binance checks the parameters' presence and form before the symbol.
  if (!symbol || symbol->empty()) {
    return {http::status::bad_request,
            error_body(-1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."),
            std::move(headers)};
  }
  if (!limit) {
    const std::string_view range = api == RestApi::spot ? "1-5000" : "5, 10, 20, 50, 100, 500, 1000";
    return {http::status::bad_request,
            error_body(-1100,
                       "Illegal characters found in parameter 'limit'; legal range is '" + std::string(range) + "'."),
            std::move(headers)};
  }
  const auto index = is_upper_symbol(*symbol) ? symbols_.index_of(lowercase(*symbol)) : std::nullopt;
  if (!index) return {http::status::bad_request, error_body(-1121, "Invalid symbol."), std::move(headers)};

  const Flavour product = api == RestApi::spot ? Flavour::spot : Flavour::usdm_futures;
  const DepthBook& book = model_.book(product, *index);
  book.top(static_cast<std::size_t>(*limit), bids_, asks_);
  fanout::RestAnswer answer{http::status::ok, {}, std::move(headers)};
  render_depth_snapshot(model_.symbol(*index), product, book.update_id(), now_us, bids_, asks_, answer.body);
  return answer;
}

std::string DepthRest::stats_json() const {
  std::string out;
  append_stats(out, total_.stats);
  out.pop_back();  // reopen the object for the per-API figures
  out += R"(,"apis":{"spot":)";
  append_stats(out, stats(RestApi::spot));
  out += R"(,"usdm":)";
  append_stats(out, stats(RestApi::usdm));
  out += R"(,"coinm":)";
  append_stats(out, stats(RestApi::coinm));
  out += "}}";
  return out;
}

}  // namespace tickrelay::sim
