#pragma once
// The simulator's REST depth snapshots: GET /api/v3/depth (the spot book),
// /fapi/v1/depth and /dapi/v1/depth (both the USD-M book), answered from the
// same books the diff-depth streams change, with Binance's request weights,
// its per-minute weight limit and its error shapes. Also GET /sim/rest-stats,
// what a test reads to check a client's pacing. No I/O and no clock: the
// server passes the time and the client's address, and sends the answer.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "market_event.hpp"
#include "tickrelay/fanout/depth_request.hpp"
#include "tickrelay/fanout/rest_handler.hpp"

namespace tickrelay::sim {

class MarketModel;
class SymbolList;

using fanout::default_depth_limit;
using fanout::depth_api_of;
using fanout::depth_weight;
using fanout::kRestApis;
using fanout::parse_depth_limit;
using fanout::RestApi;

// Binance's defaults: 6000 a minute on spot, 2400 on futures.
inline constexpr std::uint64_t kSpotWeightLimit = 6000;
inline constexpr std::uint64_t kFuturesWeightLimit = 2400;

inline constexpr std::string_view kRestStatsPath = "/sim/rest-stats";

// What the stats answer counts, over all APIs or for one.
struct RestStats {
  std::uint64_t requests = 0;        // depth requests, refused and wrong ones included
  std::uint64_t weight = 0;          // weight charged (every request not refused)
  std::uint64_t refused = 0;         // answered 429
  std::uint64_t max_weight_60s = 0;  // most weight charged within any 60 s
};

class DepthRest {
 public:
  // `weight_limit` replaces both APIs' default limits when set.
  DepthRest(MarketModel& model, const SymbolList& symbols, std::optional<std::uint64_t> weight_limit);

  // Whether this serves `path` (the target without its query).
  static bool serves(std::string_view path);

  // The answer to `target` (path and query as sent) from `client` (its
  // address) at Unix time `now_us`. Every depth request costs its weight
  // (the default limit's when the limit is wrong), charged against the
  // client's count for the API in the current UTC minute; one that would go
  // past the limit is refused with 429 and costs nothing.
  fanout::RestAnswer answer(std::string_view target, std::string_view client, std::int64_t now_us);

  const RestStats& stats() const { return total_.stats; }
  const RestStats& stats(RestApi api) const { return by_api_[static_cast<std::size_t>(api)].stats; }
  std::uint64_t weight_limit(RestApi api) const { return limits_[static_cast<std::size_t>(api)]; }
  // The weight `client` has used on `api` in the UTC minute of `now_us`.
  std::uint64_t used_weight(RestApi api, std::string_view client, std::int64_t now_us) const;

 private:
  // The weight of the last 60 s, by millisecond so that it stays bounded
  // (60,000 entries at most) however many requests come.
  struct Counter {
    RestStats stats;
    std::deque<std::pair<std::int64_t, std::uint64_t>> recent;  // (ms, weight charged in it)
    std::uint64_t recent_sum = 0;
    void charge(std::int64_t now_ms, std::uint64_t weight);
  };
  struct MinuteUse {
    std::int64_t minute = 0;  // Unix minutes
    std::uint64_t used = 0;
  };

  fanout::RestAnswer depth(RestApi api, std::string_view query, std::string_view client, std::int64_t now_us);
  std::string stats_json() const;
  void forget_old_minutes(std::int64_t minute);

  MarketModel& model_;
  const SymbolList& symbols_;
  std::uint64_t limits_[kRestApis];
  Counter total_;
  Counter by_api_[kRestApis];
  std::map<std::pair<std::string, RestApi>, MinuteUse> use_;  // (client, API)
  std::int64_t pruned_minute_ = 0;
  std::vector<PriceLevel> bids_;
  std::vector<PriceLevel> asks_;
};

}  // namespace tickrelay::sim
