#pragma once
// Binance's REST depth request, as both of tickrelay's servers answer it
// (the relay from its books, the simulator from its own): which API a path
// belongs to, the limits each accepts, and the request weight each limit
// costs. The relay also paces its own snapshot requests by these weights.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace tickrelay::fanout {

// Each is a separate server at Binance, with its own weight count.
enum class RestApi : std::uint8_t { spot, usdm, coinm };  // /api/v3, /fapi/v1, /dapi/v1
inline constexpr std::size_t kRestApis = 3;

// The API a depth path belongs to; nullopt for any other path.
std::optional<RestApi> depth_api_of(std::string_view path);
// The depth path of an API.
std::string_view depth_path(RestApi api);

// The limit a request gets when it names none: 100 on spot, 500 on futures.
int default_depth_limit(RestApi api);
// `text` as a limit the API accepts (spot 1..5000; futures 5, 10, 20, 50,
// 100, 500 or 1000), or nullopt.
std::optional<int> parse_depth_limit(RestApi api, std::string_view text);
// The largest limit the API accepts that is at most `wanted` (at least the
// smallest it accepts).
int largest_depth_limit(RestApi api, int wanted);
// Binance's request weight of GET depth with an accepted `limit`.
int depth_weight(RestApi api, int limit);

}  // namespace tickrelay::fanout
