#pragma once
// A connection the test drives: it opens, delivers and ends only when told,
// so shards and the pool are tested on a real io_context without sockets.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "upstream/connection_factory.hpp"

namespace tickrelay::upstream::test {

class FakeConnection final : public Connection {
 public:
  FakeConnection(ConnectionSpec spec, Observer& observer, std::uint64_t id)
      : spec_(std::move(spec)), observer_(observer), id_(id) {}

  void start() override { started_ = true; }
  void send_text(std::string message) override { sent_.push_back(std::move(message)); }
  // Like the real one: a connection never opened ends at once; an open one
  // ends at once too unless the test holds its closing handshake.
  void close(EndReason reason) override {
    if (ended_ || closed_with_) return;
    closed_with_ = reason;
    if (!open_ || !hold_close_) finish(reason);
  }
  bool is_open() const override { return open_ && !ended_ && !closed_with_; }
  bool ended() const override { return ended_; }
  std::uint64_t id() const override { return id_; }
  std::uint64_t messages() const override { return messages_; }

  // The test's side.
  void open() {
    open_ = true;
    observer_.on_open(*this);
  }
  void deliver(const std::string& message) {
    ++messages_;
    observer_.on_message(*this, message.data(), message.size(), message.size(), Clock::now());
  }
  void finish(EndReason reason) {
    if (ended_) return;
    ended_ = true;
    observer_.on_end(*this, reason, {});
  }
  void hold_close() { hold_close_ = true; }

  const ConnectionSpec& spec() const { return spec_; }
  bool started() const { return started_; }
  std::optional<EndReason> closed_with() const { return closed_with_; }
  const std::vector<std::string>& sent() const { return sent_; }

 private:
  ConnectionSpec spec_;
  Observer& observer_;
  std::uint64_t id_;
  std::uint64_t messages_ = 0;
  std::vector<std::string> sent_;
  std::optional<EndReason> closed_with_;
  bool started_ = false;
  bool open_ = false;
  bool ended_ = false;
  bool hold_close_ = false;
};

class FakeConnectionFactory final : public ConnectionFactory {
 public:
  std::shared_ptr<Connection> make(ConnectionSpec spec, Connection::Observer& observer) override {
    made.push_back(std::make_shared<FakeConnection>(std::move(spec), observer, made.size() + 1));
    if (hold_close) made.back()->hold_close();
    return made.back();
  }
  FakeConnection& last() { return *made.back(); }

  // Every connection made, in order; kept so the test can still drive one
  // its shard has let go.
  std::vector<std::shared_ptr<FakeConnection>> made;
  bool hold_close = false;
};

// Runs every handler that is ready, timers at zero delay included.
inline void run_ready(net::io_context& ioc) {
  ioc.restart();
  while (ioc.poll() > 0) {
  }
}

// Runs handlers, timers included as they fall due, until `done` holds or
// `limit` has passed; returns whether it holds.
template <class Done>
bool run_until(net::io_context& ioc, Done done, std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  ioc.restart();
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < until) {
    if (ioc.stopped()) ioc.restart();
    ioc.run_one_for(std::chrono::milliseconds(10));
  }
  return done();
}

inline std::string agg_trade(const std::string& stream, std::int64_t event_time, std::int64_t id) {
  return R"({"stream":")" + stream + R"(","data":{"e":"aggTrade","E":)" + std::to_string(event_time) +
         R"(,"s":"BTCUSDT","a":)" + std::to_string(id) + R"(,"p":"1","q":"1"}})";
}

}  // namespace tickrelay::upstream::test
