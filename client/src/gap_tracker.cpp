#include "gap_tracker.hpp"

#include <algorithm>

namespace tickrelay::client {

GapTracker::Outcome GapTracker::observe(std::uint64_t stream, std::uint64_t id) {
  Entry* entry = nullptr;
  if (last_hit_ < entries_.size() && entries_[last_hit_].stream == stream) {
    entry = &entries_[last_hit_];
  } else {
    const auto it = std::lower_bound(entries_.begin(), entries_.end(), stream,
                                     [](const Entry& e, std::uint64_t s) { return e.stream < s; });
    if (it == entries_.end() || it->stream != stream) {
      last_hit_ = static_cast<std::size_t>(entries_.insert(it, Entry{stream, id}) - entries_.begin());
      return Outcome{0, false, true};
    }
    last_hit_ = static_cast<std::size_t>(it - entries_.begin());
    entry = &*it;
  }
  Outcome outcome;
  if (id <= entry->last_id) {
    // The last id stays: a replayed old event must not make the following
    // events look like a gap.
    outcome.duplicate = true;
    return outcome;
  }
  outcome.missing = id - entry->last_id - 1;
  entry->last_id = id;
  return outcome;
}

void GapTracker::reset() {
  entries_.clear();
  entries_.shrink_to_fit();
  last_hit_ = 0;
}

}  // namespace tickrelay::client
