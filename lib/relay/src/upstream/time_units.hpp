#pragma once
// Binance gives each connection the time unit it asked for (timeUnit=
// MICROSECOND or milliseconds by default); the relay reads each stream in one
// unit and renders the other from it, once per upstream message, for the
// clients that asked for it. These are the fields Binance counts as times:
// E, T, O and C of an event (or of each event of an array stream such as
// !miniTicker@arr), t and T of a kline's "k", and T of a liquidation's "o".
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace tickrelay::upstream {

enum class TimeUnit : std::uint8_t { millisecond, microsecond };

// The unit an epoch time is in: past 1e14 it is microseconds (milliseconds
// stay below that until the year 5138), as relay::event_time_to_us reads it.
TimeUnit unit_of_epoch(std::int64_t epoch);

class TimeRescaler {
 public:
  enum class Result : std::uint8_t {
    rescaled,   // `out` holds the event in the other unit
    unchanged,  // no time field: the event reads the same in both units
    malformed,  // not JSON, or a time that does not fit in the other unit
  };

  TimeRescaler();
  ~TimeRescaler();
  TimeRescaler(const TimeRescaler&) = delete;
  TimeRescaler& operator=(const TimeRescaler&) = delete;

  // Writes `event` (one JSON object or array) with every time field in `to`
  // instead of `from`: divided by 1000 towards milliseconds (rounded down,
  // as Binance's milliseconds are), multiplied by 1000 towards
  // microseconds. Fields that are not integers are left as they are.
  Result rescale(std::string_view event, TimeUnit from, TimeUnit to, std::string& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tickrelay::upstream
