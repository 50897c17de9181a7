#pragma once
// The set of connected clients and what they share: limits, the router, the
// counters, and the flush of every client with pending frames: at the end of
// each publish batch (one upstream read), or on the loop's next turn for
// frames queued outside one, so every client gets one gathered write per
// upstream read.
#include <array>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <sys/uio.h>

#include "tickrelay/fanout/relay_counters.hpp"
#include "tickrelay/fanout/router.hpp"
#include "tickrelay/fanout/server_config.hpp"
#include "tickrelay/wire/asio.hpp"

namespace spdlog {
class logger;
}

namespace tickrelay::fanout {

class ClientSessionBase;
class RestHandler;
class SessionHooks;
class StreamCatalog;

class ClientRegistry {
 public:
  // Counts a client against max_clients and max_clients_per_ip from its
  // handshake until its session ends.
  class Admission {
   public:
    Admission() = default;
    Admission(ClientRegistry* registry, net::ip::address address) : registry_(registry), address_(address) {}
    Admission(Admission&& other) noexcept
        : registry_(std::exchange(other.registry_, nullptr)), address_(other.address_) {}
    Admission& operator=(Admission&& other) noexcept;
    Admission(const Admission&) = delete;
    Admission& operator=(const Admission&) = delete;
    ~Admission() { release(); }
    const net::ip::address& address() const { return address_; }

   private:
    void release();
    ClientRegistry* registry_ = nullptr;
    net::ip::address address_;
  };

  ClientRegistry(net::io_context& ioc, const ServerConfig& config, fanout::Router& router, StreamCatalog& catalog,
                 fanout::RelayCounters& counters, spdlog::logger& log);
  ~ClientRegistry();
  ClientRegistry(const ClientRegistry&) = delete;
  ClientRegistry& operator=(const ClientRegistry&) = delete;

  // An admission, or why the client is refused.
  std::optional<Admission> admit(const net::ip::address& address, fanout::RefusalReason& refusal);

  void add(ClientSessionBase* session);
  void remove(ClientSessionBase* session) { sessions_.erase(session); }
  std::size_t size() const { return sessions_.size(); }
  std::size_t admitted() const { return admitted_; }

  // The session has frames to write: it is flushed when the publish batch
  // under way ends, or on the loop's next turn when none is.
  void mark_dirty(std::shared_ptr<ClientSessionBase> session);

  // A session closed a slow consumer (`why`: slow_consumer or lagging):
  // counted by its end; logged here, at most once per interval with the
  // count, so a saturated relay shedding clients says so without flooding
  // the log.
  void note_shed(fanout::DisconnectReason why);

  // Scratch for one gathered write (one thread writes at a time): `n` slots.
  std::vector<iovec>& iovecs(std::size_t n) {
    if (iovecs_.size() < n) iovecs_.resize(n);
    return iovecs_;
  }

  // Shutdown: every client is sent close 1001 after its queue drains; those
  // still there after `drain` are dropped. `done(left)` runs once no session
  // is admitted (open or in its handshake), or `give_up` after the drain
  // time, `left` being the sessions still admitted. Each session refers to
  // the registry, so its owner must outlive every one: a non-zero `left`
  // tells it that some still may not have ended.
  void close_all(std::chrono::steady_clock::duration drain, std::chrono::steady_clock::duration give_up,
                 std::function<void(std::size_t left)> done);
  // The client list served on the metrics port (/clients): JSON with the
  // number of clients ("connected") and at most `limit` of them ("clients"), those lagging most
  // first (oldest queued frame, then queued bytes), each with at most
  // kListedStreams stream names.
  static constexpr std::size_t kListedStreams = 32;
  std::string clients_json(std::size_t limit) const;

  // A reload removed a stream: its subscribers are told and unsubscribed.
  void retire_stream(fanout::StreamId id);

  // The simulator's hooks: asked at each handshake, and given every frame of
  // the sessions they open. Null for the relay, whose sessions are built
  // without them.
  void set_hooks(SessionHooks* hooks) { hooks_ = hooks; }
  SessionHooks* hooks() const { return hooks_; }
  // What answers the REST paths on the client port; null: none is served.
  void set_rest(RestHandler* rest) { rest_ = rest; }
  RestHandler* rest() const { return rest_; }

  void apply(const ServerConfig& config);
  const ServerConfig& config() const { return config_; }
  Clock::duration max_client_lag() const { return max_client_lag_; }
  net::io_context& io() { return ioc_; }
  fanout::Router& router() { return router_; }
  StreamCatalog& catalog() { return catalog_; }
  fanout::RelayCounters& counters() { return counters_; }
  spdlog::logger& log() { return log_; }

 private:
  void flush_dirty();
  void post_flush();
  // Calls `act(session)` on every session, collected first (and kept alive)
  // since acting may end a session, which removes it from the set.
  template <class Act>
  void for_each_session(Act act);
  void shutdown_all();
  void abort_all();
  void wait_for_sessions(std::function<void(std::size_t left)> done);

  net::io_context& ioc_;
  ServerConfig config_;
  fanout::Router& router_;
  StreamCatalog& catalog_;
  fanout::RelayCounters& counters_;
  spdlog::logger& log_;
  std::unordered_set<ClientSessionBase*> sessions_;
  std::map<net::ip::address, std::size_t> per_address_;
  std::size_t admitted_ = 0;
  std::vector<std::shared_ptr<ClientSessionBase>> dirty_;
  std::vector<std::shared_ptr<ClientSessionBase>> flushing_;
  bool flush_posted_ = false;
  Clock::duration max_client_lag_;
  std::vector<iovec> iovecs_;
  std::array<std::uint64_t, 2> shed_since_log_{};  // slow_consumer, lagging
  Clock::time_point shed_logged_at_{};
  SessionHooks* hooks_ = nullptr;
  RestHandler* rest_ = nullptr;
  net::steady_timer close_timer_;
  // Pings idle clients and drops those that stay silent: one timer for all.
  void sweep_idle();
  net::steady_timer idle_timer_;
  bool idle_sweeping_ = false;
  bool closing_ = false;
  std::chrono::steady_clock::time_point drain_deadline_{};
  std::chrono::steady_clock::time_point give_up_at_{};
  bool drain_over_ = false;
};

}  // namespace tickrelay::fanout
