#pragma once
// Binance JSON for simulated events, written into a caller-owned string that
// is reused: once its capacity has grown, rendering allocates nothing.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "market_event.hpp"
#include "sim_types.hpp"

namespace tickrelay::sim {

struct RenderFormat {
  Flavour flavour = Flavour::spot;
  TimeUnit unit = TimeUnit::millisecond;
};

// Stream name of the serverShutdown event in a combined stream.
inline constexpr std::string_view kServerShutdownStream = "!serverShutdown";

// The raw-stream payload of one event (what /ws/<stream> sends), replacing
// the contents of `out`. Field names and order are Binance's; prices and
// quantities are decimal strings (spot: 8 decimals as Binance spot prints
// them; futures: the symbol's tick and lot precision), ids and times numbers.
void render_event(const Event& event, RenderFormat format, std::string& out);

// The REST depth snapshot (GET /api/v3/depth, /fapi/v1/depth) of `symbol`'s
// book into `out`: levels best first, printed as the product's streams print
// them, so a client can match a level of an event to one of the snapshot by
// its text. Futures carries E and T (`now_us`, in milliseconds).
void render_depth_snapshot(const SymbolState& symbol, Flavour flavour, std::uint64_t last_update_id,
                           std::int64_t now_us, std::span<const PriceLevel> bids, std::span<const PriceLevel> asks,
                           std::string& out);

// `{"stream":"<stream>","data":<payload>}` into `out` (combined streams).
void render_envelope(std::string_view stream, std::string_view payload, std::string& out);

// `{"e":"serverShutdown","E":<now>}` into `out`; wrap it with
// kServerShutdownStream for combined connections.
void render_server_shutdown(std::int64_t now_us, TimeUnit unit, std::string& out);

// A frame that replaces a good one under --malformed-every. `stream` and
// `payload` are the event being replaced; `combined` says whether the
// connection expects envelopes. The unsubscribed-stream frame is for the
// symbol kUnsubscribedSymbol, which no real symbol list contains. Allocates:
// a fault path, not the per-event one.
void render_malformed(MalformedKind kind, std::string_view stream, std::string_view payload, bool combined,
                      std::int64_t now_us, TimeUnit unit, std::string& out);
inline constexpr std::string_view kUnsubscribedSymbol = "NOSUCHUSDT";

}  // namespace tickrelay::sim
