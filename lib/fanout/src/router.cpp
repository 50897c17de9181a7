#include "tickrelay/fanout/router.hpp"

#include <algorithm>
#include <stdexcept>

namespace tickrelay::fanout {

StreamId Router::add_stream(std::string_view name, StreamKind kind, bool replay, bool derived) {
  check_not_publishing("add_stream");
  if (const auto it = ids_.find(name); it != ids_.end()) {
    auto& entry = streams_[it->second];
    entry.carried = true;
    entry.replay = replay;
    return it->second;
  }
  const auto id = static_cast<StreamId>(streams_.size());
  streams_.push_back(Entry{std::string(name), kind, true, replay, derived, {}, {}});
  ids_.emplace(std::string(name), id);
  return id;
}

std::vector<Subscriber*> Router::retire_stream(StreamId id) {
  check_not_publishing("retire_stream");
  auto& entry = streams_[id];
  entry.carried = false;
  entry.last.reset();
  return entry.subscribers;
}

StreamId Router::find(std::string_view name) const {
  const auto it = ids_.find(name);
  return it == ids_.end() ? kNoStream : it->second;
}

std::size_t Router::carried_count() const {
  return static_cast<std::size_t>(
      std::count_if(streams_.begin(), streams_.end(), [](const Entry& e) { return e.carried && !e.derived; }));
}

void Router::subscribe(StreamId id, Subscriber* subscriber) {
  check_not_publishing("subscribe");
  auto& subs = streams_[id].subscribers;
  subscriber->set_slot(id, static_cast<SubscriberSlot>(subs.size()));
  subs.push_back(subscriber);
}

void Router::unsubscribe(StreamId id, Subscriber* subscriber) {
  check_not_publishing("unsubscribe");
  auto& subs = streams_[id].subscribers;
  const SubscriberSlot slot = subscriber->slot(id);
  if (slot >= subs.size() || subs[slot] != subscriber) return;
  // Order among subscribers carries no meaning: the last takes its place.
  subscriber->set_slot(id, kNoSlot);
  if (slot + 1 != subs.size()) {
    subs[slot] = subs.back();
    subs[slot]->set_slot(id, slot);
  }
  subs.pop_back();
}

void Router::set_replay(StreamId id, bool replay) {
  streams_[id].replay = replay;
  if (!replay) streams_[id].last.reset();
}

void Router::set_last_value(StreamId id, FramePtr frame) {
  if (streams_[id].replay) streams_[id].last = std::move(frame);
}

void Router::publish_to(StreamId id, const FramePtr& frame) {
  auto& entry = streams_[id];
  ++published_;
  publishing_ = true;
  try {
    for (Subscriber* s : entry.subscribers) s->deliver(frame);
  } catch (...) {
    publishing_ = false;  // a refused re-entry is loud, not a router stuck refusing
    throw;
  }
  publishing_ = false;
  if (entry.replay) entry.last = frame;
}

void Router::end_batch() {
  if (open_batches_ == 0) throw std::logic_error("Router::end_batch without begin_batch");
  --open_batches_;
  if (on_batch_end_) on_batch_end_();
}

void Router::check_not_publishing(const char* what) const {
  if (publishing_) {
    throw std::logic_error(std::string("Router::") + what + " called from inside publish(); post it instead");
  }
}

}  // namespace tickrelay::fanout
