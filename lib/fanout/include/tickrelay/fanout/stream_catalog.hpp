#pragma once
// Which streams a client may subscribe to. The relay answers from its config
// (or subscribes upstream on demand); the simulator creates streams as asked.
#include <string>
#include <string_view>

#include "tickrelay/fanout/frame.hpp"

namespace tickrelay::fanout {

class StreamCatalog {
 public:
  // The stream's id, or fanout::kNoStream with `error` set to the reason a
  // client is told (Binance's "Invalid request: ..." text follows it).
  // `prefix` is the path prefix the client connected under ("", "/market",
  // "/public"); `microsecond` whether it asked for microsecond times.
  virtual fanout::StreamId resolve(std::string_view name, std::string_view prefix, bool microsecond,
                                   std::string& error) = 0;

 protected:
  ~StreamCatalog() = default;
};

}  // namespace tickrelay::fanout
