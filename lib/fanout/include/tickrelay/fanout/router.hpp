#pragma once
// Stream name to subscribers. publish() hands one Frame to every subscriber of
// its stream: a pointer each, no copy, no allocation. Subscribers must not
// change subscriptions from inside deliver(); doing so is refused loudly
// (a publish never edits the set it walks).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tickrelay/fanout/frame.hpp"
#include "tickrelay/fanout/stream_name.hpp"

namespace tickrelay::fanout {

// A subscriber's place in a stream's list, kept by the subscriber so that
// unsubscribing costs the same whatever the list's length (a mass
// disconnect of many clients on one stream stays linear in the clients).
using SubscriberSlot = std::uint32_t;
inline constexpr SubscriberSlot kNoSlot = ~SubscriberSlot{0};

class Subscriber {
 public:
  virtual void deliver(const FramePtr& frame) = 0;
  // Where it sits in `stream`'s list, kNoSlot when not subscribed; set by
  // the router on subscribe and whenever an unsubscribe moves it.
  virtual SubscriberSlot slot(StreamId stream) const = 0;
  virtual void set_slot(StreamId stream, SubscriberSlot slot) = 0;

 protected:
  ~Subscriber() = default;
};

class Router {
 public:
  // Makes a stream known (idempotent) and returns its id. `replay`: keep the
  // latest frame for new subscribers. `derived`: a form of another stream
  // (its events in another time unit), not counted as a stream carried.
  StreamId add_stream(std::string_view name, StreamKind kind, bool replay, bool derived = false);
  // Forgets a stream: its last value is dropped; subscribers keep their
  // registration until they unsubscribe. Returns the subscribers it had.
  std::vector<Subscriber*> retire_stream(StreamId id);
  StreamId find(std::string_view name) const;  // kNoStream if unknown
  bool carried(StreamId id) const { return id < streams_.size() && streams_[id].carried; }
  std::string_view name(StreamId id) const { return streams_[id].name; }
  StreamKind kind(StreamId id) const { return streams_[id].kind; }
  std::size_t stream_count() const { return streams_.size(); }
  std::size_t carried_count() const;  // derived forms not counted
  bool derived(StreamId id) const { return streams_[id].derived; }

  // The subscriber must answer slot()/set_slot() for `id` from the call on.
  void subscribe(StreamId id, Subscriber* subscriber);
  // Constant time: the subscriber says where it is. Not subscribed: nothing.
  void unsubscribe(StreamId id, Subscriber* subscriber);
  std::size_t subscriber_count(StreamId id) const { return streams_[id].subscribers.size(); }

  // Latest frame of a replayed stream, or null.
  const FramePtr& last_value(StreamId id) const { return streams_[id].last; }
  // Sets it without delivering (a stream's other time unit, filled before
  // its first subscriber); ignored for a stream that does not replay.
  void set_last_value(StreamId id, FramePtr frame);
  void set_replay(StreamId id, bool replay);
  bool replays(StreamId id) const { return streams_[id].replay; }

  void publish(const FramePtr& frame) { publish_to(frame->stream(), frame); }
  // Delivers `frame` to the subscribers of `id`, which need not be the
  // frame's own stream: an event whose text is the same in another stream
  // (a time unit's form without time fields) is shared, not copied.
  void publish_to(StreamId id, const FramePtr& frame);
  std::uint64_t published() const { return published_; }

  // Publish batches. An upstream connection publishes all the messages of
  // one socket read inside one batch; each time a batch ends, the listener
  // (the client registry) writes what every client has queued, one gathered
  // write per client. Batches of several connections may overlap; every end
  // writes. Frames published outside any batch are written on the loop's
  // next turn.
  void begin_batch() { ++open_batches_; }
  void end_batch();
  bool in_batch() const { return open_batches_ != 0; }
  void set_batch_listener(std::function<void()> on_batch_end) { on_batch_end_ = std::move(on_batch_end); }

 private:
  struct Entry {
    std::string name;
    StreamKind kind;
    bool carried = true;
    bool replay = false;
    bool derived = false;
    std::vector<Subscriber*> subscribers;
    FramePtr last;
  };
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  void check_not_publishing(const char* what) const;

  std::vector<Entry> streams_;
  std::unordered_map<std::string, StreamId, NameHash, std::equal_to<>> ids_;
  bool publishing_ = false;
  std::uint64_t published_ = 0;
  unsigned open_batches_ = 0;
  std::function<void()> on_batch_end_;
};

}  // namespace tickrelay::fanout
