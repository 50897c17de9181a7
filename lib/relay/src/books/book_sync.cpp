#include "books/book_sync.hpp"

#include <utility>

namespace tickrelay::books {
namespace {

// Events the book already holds: spot u <= id; futures u < id before the
// first applied event (the one with U <= id <= u holds id itself).
bool already_held(BookRule rule, bool applied, const DepthUpdate& update, std::int64_t id) {
  if (rule == BookRule::futures && !applied) return update.final_id < id;
  return update.final_id <= id;
}

}  // namespace

const char* resync_reason_label(ResyncReason reason) {
  switch (reason) {
    case ResyncReason::gap: return "gap";
    case ResyncReason::stale_snapshot: return "stale_snapshot";
    case ResyncReason::buffer_overflow: return "buffer_overflow";
    case ResyncReason::count_: break;
  }
  return "unknown";
}

bool BookSync::follows(const DepthUpdate& update) const {
  const std::int64_t id = book_.last_update_id();
  if (rule_ == BookRule::spot) return update.first_id <= id + 1 && update.final_id >= id + 1;
  if (!applied_since_snapshot_) return update.first_id <= id && update.final_id >= id;
  return update.previous_final_id == previous_final_id_;
}

void BookSync::apply(const DepthUpdate& update) {
  book_.apply(update);
  book_.set_last_update_id(update.final_id);
  previous_final_id_ = update.final_id;
  event_time_ = update.event_time;
  transaction_time_ = update.transaction_time;
  applied_since_snapshot_ = true;
}

bool BookSync::restart(ResyncReason reason) {
  ++resyncs_[static_cast<std::size_t>(reason)];
  state_ = State::waiting;
  book_.clear();
  applied_since_snapshot_ = false;
  previous_final_id_ = -1;
  return !requested_;
}

bool BookSync::on_update(DepthUpdate update) {
  if (state_ == State::waiting) {
    if (buffer_.size() >= max_buffered_) {
      // The snapshot is late: keep the newest events only; the answer will
      // be stale against them and asked again.
      buffer_.clear();
      ++resyncs_[static_cast<std::size_t>(ResyncReason::buffer_overflow)];
    }
    buffer_.push_back(std::move(update));
    return !requested_;
  }
  if (already_held(rule_, applied_since_snapshot_, update, book_.last_update_id())) return false;
  if (!follows(update)) {
    buffer_.push_back(std::move(update));
    return restart(ResyncReason::gap);
  }
  apply(update);
  return false;
}

bool BookSync::on_snapshot(const DepthSnapshot& snapshot) {
  requested_ = false;
  book_.reset(snapshot);
  state_ = State::synced;
  applied_since_snapshot_ = false;
  previous_final_id_ = -1;
  event_time_ = snapshot.event_time;
  transaction_time_ = snapshot.transaction_time;
  auto pending = std::move(buffer_);
  buffer_.clear();
  bool first = true;
  while (!pending.empty()) {
    auto& update = pending.front();
    if (already_held(rule_, applied_since_snapshot_, update, book_.last_update_id())) {
      pending.pop_front();
      continue;
    }
    if (!follows(update)) {
      buffer_ = std::move(pending);
      // The first event left must meet the snapshot; if it does not, the
      // snapshot is older than what was buffered.
      return restart(first ? ResyncReason::stale_snapshot : ResyncReason::gap);
    }
    apply(update);
    first = false;
    pending.pop_front();
  }
  return false;
}

bool BookSync::on_snapshot_failed() {
  requested_ = false;
  return true;
}

}  // namespace tickrelay::books
