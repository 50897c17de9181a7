#pragma once
// Which streams a client may subscribe to. The relay answers from its config
// (or subscribes upstream on demand); the simulator creates streams as asked.
#include <string>
#include <string_view>

#include "tickrelay/fanout/frame.hpp"

namespace tickrelay::fanout {

// resolve()'s answer for a stream that is accepted and carries nothing on the
// client's path: Binance's answer to a stream asked on a path that does not
// serve it (a kline on USD-M's /public, anything on /private). The session
// lists it and never hears of it again; the router never sees this id.
inline constexpr StreamId kSilentStream = 0xfffffffeu;

class StreamCatalog {
 public:
  // The stream's id, kSilentStream, or fanout::kNoStream with `error` set to
  // the reason a client is told (Binance's "Invalid request: ..." text
  // follows it). `prefix` is the path prefix the client connected under
  // ("", "/market", "/public", "/private"); `microsecond` whether it asked
  // for microsecond times: the id is that of the stream in the unit asked.
  virtual fanout::StreamId resolve(std::string_view name, std::string_view prefix, bool microsecond,
                                   std::string& error) = 0;

 protected:
  ~StreamCatalog() = default;
};

}  // namespace tickrelay::fanout
