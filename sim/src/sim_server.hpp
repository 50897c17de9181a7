#pragma once
// tickrelay-sim's server: Binance's stream protocol over the relay's own
// downstream machinery (listener, sessions, router), fed by the market model
// at the paced rate, with the fault plan applied per connection.
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "downstream/session_hooks.hpp"
#include "downstream/stream_catalog.hpp"
#include "event_pacer.hpp"
#include "fault_plan.hpp"
#include "market_model.hpp"
#include "metrics/relay_counters.hpp"
#include "net.hpp"
#include "relay/router.hpp"
#include "sim_options.hpp"

namespace spdlog {
class logger;
}
namespace tickrelay::downstream {
class ClientRegistry;
class Listener;
}  // namespace tickrelay::downstream

namespace tickrelay::sim {

class SimServer final : private downstream::StreamCatalog, private downstream::SessionHooks {
 public:
  SimServer(net::io_context& ioc, SimOptions options, spdlog::logger& log);
  ~SimServer();

  // Binds (throws std::runtime_error naming the address) and starts serving.
  void start();
  // Stops accepting and sends every client close 1001; those that have not
  // answered within a second are dropped. `done(left)` runs once no session
  // is left, or with the number still there after three seconds.
  void stop(std::function<void(std::size_t left)> done);
  tcp::endpoint local_endpoint() const;

 private:
  // A model stream and the router streams its subscribers use, one per time
  // unit (the payload differs).
  struct Channel {
    relay::StreamId by_unit[2] = {relay::kNoStream, relay::kNoStream};
    bool in_pacer = false;
  };
  struct Connection {
    ConnectionFaults faults;
    std::unique_ptr<net::steady_timer> fault_timer;
    std::unique_ptr<net::steady_timer> ping_timer;
    bool stalled = false;
  };

  relay::StreamId resolve(std::string_view name, std::string_view prefix, bool microsecond,
                          std::string& error) override;
  bool admit(const downstream::RequestTarget& target) override;
  void opened(downstream::SessionControl& control) override;
  void closed(downstream::SessionControl& control) override;
  FrameAction on_frame(downstream::SessionControl& control, const relay::FramePtr& frame) override;

  void schedule_tick();
  void tick();
  void check_faults(downstream::SessionControl& control);
  void schedule_ping(downstream::SessionControl& control);
  static std::string path_of(const downstream::RequestTarget& target);

  net::io_context& ioc_;
  SimOptions options_;
  spdlog::logger& log_;
  metrics::RelayCounters counters_;
  relay::Router router_;
  MarketModel model_;
  EventPacer pacer_;
  FaultPlan faults_;
  std::unique_ptr<ssl::context> tls_;
  std::unique_ptr<downstream::ClientRegistry> registry_;
  std::shared_ptr<downstream::Listener> listener_;
  net::steady_timer tick_timer_;
  bool tick_armed_ = false;
  std::vector<Channel> channels_;                 // by model stream
  std::vector<std::string> display_names_;        // by router stream: the name clients asked for
  std::unordered_map<downstream::SessionControl*, Connection> connections_;
  std::string payload_;
  bool stopped_ = false;
};

}  // namespace tickrelay::sim
