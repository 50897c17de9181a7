#pragma once
// tickrelay-sim's server: Binance's stream protocol over the relay's own
// downstream machinery (listener, sessions, router), fed by the market model
// at the paced rate, with the fault plan applied per connection; and on the
// same port the REST depth snapshots of the model's books.
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "depth_rest.hpp"
#include "event_pacer.hpp"
#include "fault_plan.hpp"
#include "market_model.hpp"
#include "sim_options.hpp"
#include "tickrelay/fanout/relay_counters.hpp"
#include "tickrelay/fanout/rest_handler.hpp"
#include "tickrelay/fanout/router.hpp"
#include "tickrelay/fanout/session_hooks.hpp"
#include "tickrelay/fanout/stream_catalog.hpp"
#include "tickrelay/wire/asio.hpp"

namespace spdlog {
class logger;
}
namespace tickrelay::fanout {
class ClientRegistry;
class Listener;
}  // namespace tickrelay::fanout

namespace tickrelay::sim {

class SimServer final : private fanout::StreamCatalog, private fanout::SessionHooks, private fanout::RestHandler {
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
    fanout::StreamId by_unit[2] = {fanout::kNoStream, fanout::kNoStream};
    bool in_pacer = false;
  };
  struct Connection {
    ConnectionFaults faults;
    std::unique_ptr<net::steady_timer> fault_timer;
    std::unique_ptr<net::steady_timer> ping_timer;
    bool stalled = false;
  };

  fanout::StreamId resolve(std::string_view name, std::string_view prefix, bool microsecond,
                           std::string& error) override;
  bool admit(const fanout::RequestTarget& target) override;
  void opened(fanout::SessionControl& control) override;
  void closed(fanout::SessionControl& control) override;
  FrameAction on_frame(fanout::SessionControl& control, const fanout::FramePtr& frame) override;
  // A stalled connection answers nothing, pongs included.
  bool silent(fanout::SessionControl& control) override;
  // The REST paths: answered at once, sent after --rest-delay.
  bool serves(std::string_view path) const override;
  void get(std::string_view target, const net::ip::address& peer, Reply reply) override;

  void schedule_tick();
  void tick();
  void check_faults(fanout::SessionControl& control);
  void schedule_ping(fanout::SessionControl& control);
  static std::string path_of(const fanout::RequestTarget& target);

  net::io_context& ioc_;
  SimOptions options_;
  spdlog::logger& log_;
  fanout::RelayCounters counters_;
  fanout::Router router_;
  MarketModel model_;
  EventPacer pacer_;
  FaultPlan faults_;
  DepthRest rest_;
  std::unique_ptr<ssl::context> tls_;
  std::unique_ptr<fanout::ClientRegistry> registry_;
  std::shared_ptr<fanout::Listener> listener_;
  net::steady_timer tick_timer_;
  bool tick_armed_ = false;
  std::vector<Channel> channels_;           // by model stream
  std::vector<std::string> display_names_;  // by router stream: the name clients asked for
  std::unordered_map<fanout::SessionControl*, Connection> connections_;
  std::string payload_;
  bool stopped_ = false;
};

}  // namespace tickrelay::sim
