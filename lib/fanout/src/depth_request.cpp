#include "tickrelay/fanout/depth_request.hpp"

#include <algorithm>
#include <array>
#include <charconv>

namespace tickrelay::fanout {
namespace {

constexpr int kMaxSpotLimit = 5000;
constexpr std::array<int, 7> kFuturesLimits{5, 10, 20, 50, 100, 500, 1000};

}  // namespace

std::optional<RestApi> depth_api_of(std::string_view path) {
  if (path == "/api/v3/depth") return RestApi::spot;
  if (path == "/fapi/v1/depth") return RestApi::usdm;
  if (path == "/dapi/v1/depth") return RestApi::coinm;
  return std::nullopt;
}

std::string_view depth_path(RestApi api) {
  switch (api) {
    case RestApi::spot: return "/api/v3/depth";
    case RestApi::usdm: return "/fapi/v1/depth";
    case RestApi::coinm: return "/dapi/v1/depth";
  }
  return "/api/v3/depth";
}

int default_depth_limit(RestApi api) { return api == RestApi::spot ? 100 : 500; }

std::optional<int> parse_depth_limit(RestApi api, std::string_view text) {
  int value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  // Digits only: from_chars would take a leading '-'.
  if (text.empty() || text.front() == '-' || ec != std::errc{} || ptr != end) return std::nullopt;
  if (api == RestApi::spot) {
    if (value < 1 || value > kMaxSpotLimit) return std::nullopt;
    return value;
  }
  if (std::find(kFuturesLimits.begin(), kFuturesLimits.end(), value) == kFuturesLimits.end()) return std::nullopt;
  return value;
}

int largest_depth_limit(RestApi api, int wanted) {
  if (api == RestApi::spot) return std::clamp(wanted, 1, kMaxSpotLimit);
  int best = kFuturesLimits.front();
  for (const int l : kFuturesLimits) {
    if (l <= wanted) best = l;
  }
  return best;
}

int depth_weight(RestApi api, int limit) {
  if (api == RestApi::spot) {
    if (limit <= 100) return 5;
    if (limit <= 500) return 25;
    if (limit <= 1000) return 50;
    return 250;
  }
  if (limit <= 50) return 2;
  if (limit <= 100) return 5;
  if (limit <= 500) return 10;
  return 20;
}

}  // namespace tickrelay::fanout
