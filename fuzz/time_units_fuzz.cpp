// An upstream event rendered in the other time unit (TimeRescaler): never a
// crash, and a round trip is exact: what was rendered in microseconds and
// back in milliseconds renders in microseconds to the same text again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "upstream/time_units.hpp"

namespace {

using tickrelay::upstream::TimeRescaler;
using tickrelay::upstream::TimeUnit;

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static TimeRescaler rescaler;
  const std::string_view event(reinterpret_cast<const char*>(data), size);
  std::string ms;
  rescaler.rescale(event, TimeUnit::microsecond, TimeUnit::millisecond, ms);
  std::string us;
  if (rescaler.rescale(event, TimeUnit::millisecond, TimeUnit::microsecond, us) != TimeRescaler::Result::rescaled) {
    return 0;
  }
  std::string back;
  const auto down = rescaler.rescale(us, TimeUnit::microsecond, TimeUnit::millisecond, back);
  check(down == TimeRescaler::Result::rescaled);
  std::string again;
  check(rescaler.rescale(back, TimeUnit::millisecond, TimeUnit::microsecond, again) == TimeRescaler::Result::rescaled);
  check(again == us);
  return 0;
}
