// What the simulator parses from its clients beyond the shared fan-out
// code: every stream name a client asks for (in the handshake's path or a
// SUBSCRIBE) goes through parse_stream_spec against its symbol list, and
// the product path decides whether it is served there. The input is a
// request target, or a control message when it starts with '{'.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "control_message.hpp"
#include "stream_spec.hpp"
#include "symbol_list.hpp"
#include "tickrelay/fanout/request_target.hpp"
#include "tickrelay/fanout/stream_name.hpp"

namespace {

using namespace tickrelay;

void serve(const std::string& name, const sim::SymbolList& symbols) {
  const auto parsed = sim::parse_stream_spec(name, symbols);
  (void)fanout::parse_stream_name(name);
  if (!parsed) {
    (void)sim::describe(parsed.error);
    return;
  }
  if (parsed.spec->name != name) std::abort();  // the spec keeps the name as asked
  for (auto endpoint : {sim::Endpoint::spot, sim::Endpoint::usdm_market, sim::Endpoint::usdm_public}) {
    (void)sim::served_on(parsed.spec->kind, endpoint);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const sim::SymbolList symbols = sim::SymbolList::from_csv("btcusdt,ethusdt,BINANCE:BNBBTC,solusdt");
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> names;
  if (!text.empty() && text.front() == '{') {
    auto request = fanout::parse_control_message(text);
    if (auto* r = std::get_if<fanout::ControlRequest>(&request)) names = std::move(r->streams);
  } else {
    std::string error;
    auto target = fanout::parse_request_target(text, error);
    if (!target || !fanout::split_streams(*target, 1024, error)) return 0;
    names = std::move(target->streams);
  }
  for (const auto& name : names) serve(name, symbols);
  return 0;
}
