#pragma once
// The relay's side of the NATS backbone, in either role or both.
//
// Ingest (backbone.nats.publish): every event the Binance upstreams deliver,
// after de-duplication, is published unchanged on its stream's subject,
// with this relay's source subject as reply-to; requests for a stream's
// latest event are answered from the router's last value.
//
// Edge (upstreams of type nats): the streams are carried like any other, but
// a subject is subscribed only while clients want it (and for a grace
// period after the last leaves). Copies from several ingest relays go
// through an Ingest of the edge's own, whose sequencer drops what was
// delivered already, exactly as for an upstream rotation. A first
// subscriber's stream is filled with the latest value by asking the ingest
// relays (request/reply), so replay works even when nothing is published
// for a while.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "tickrelay/fanout/frame.hpp"
#include "tickrelay/observe/histogram.hpp"
#include "tickrelay/relay/config.hpp"
#include "tickrelay/relay/nats_client.hpp"
#include "tickrelay/wire/asio.hpp"
#include "upstream/ingest.hpp"

namespace spdlog {
class logger;
}
namespace tickrelay::fanout {
class Router;
struct RelayCounters;
}  // namespace tickrelay::fanout

namespace tickrelay::backbone {

struct BackboneCounters {
  std::uint64_t published = 0;       // events published (ingest)
  std::uint64_t publish_errors = 0;  // refused: not connected, output full, no subject
  std::uint64_t received = 0;        // messages received on stream subjects and replies (edge)
  std::uint64_t duplicates = 0;      // copies already delivered (another ingest relay's)
  std::uint64_t last_value_requests = 0;
  std::uint64_t last_value_answers = 0;  // answered (ingest)
  observe::Histogram rtt;                // to the NATS server and back
};

class Backbone {
 public:
  using ReplayPolicy = std::function<bool(fanout::StreamKind)>;

  Backbone(net::io_context& ioc, const config::NatsConfig& config, fanout::Router& router,
           fanout::RelayCounters& counters, spdlog::logger& log, ReplayPolicy replay);
  ~Backbone();
  Backbone(const Backbone&) = delete;
  Backbone& operator=(const Backbone&) = delete;

  void start();
  void stop();

  // Ingest role: the subject of every stream the Binance upstreams carry.
  void index_published(const std::vector<config::UpstreamConfig>& upstreams);
  // One event as Binance sent it (the Ingest's tap).
  void publish(fanout::StreamId stream, std::string_view message);

  // Edge role: carries the streams of the nats upstreams; returns the
  // streams (and their other time-unit forms) no longer carried.
  std::vector<fanout::StreamId> apply_edge(const std::vector<config::UpstreamConfig>& upstreams);
  bool carries(fanout::StreamId stream) const { return edge_.contains(stream); }
  // What a client subscribes to (Ingest::client_form), subscribing the
  // stream's subject first when nobody had.
  fanout::StreamId client_form(fanout::StreamId stream, std::string_view prefix, bool microsecond);

  bool connected() const { return client_.connected(); }
  std::uint64_t reconnects() const { return client_.reconnects(); }
  std::size_t subscriptions() const;
  const BackboneCounters& counters() const { return counters_; }
  bool publishing() const { return config_.publish; }

 private:
  struct EdgeStream {
    std::string subject;
    std::string last_subject;
    NatsClient::SubscriptionId subscription = 0;
    std::chrono::steady_clock::time_point idle_since = std::chrono::steady_clock::time_point::max();
  };
  struct Source {
    std::uint64_t id = 0;
    std::chrono::steady_clock::time_point last_seen;
  };

  void want(fanout::StreamId stream);
  void on_message(std::string_view reply, const char* data, std::size_t size);
  void on_last_value_request(std::string_view subject, std::string_view reply);
  std::uint64_t source_id(std::string_view reply, std::chrono::steady_clock::time_point now);
  void sweep();
  void probe_rtt();

  net::io_context& ioc_;
  config::NatsConfig config_;
  fanout::Router& router_;
  fanout::RelayCounters& relay_counters_;
  spdlog::logger& log_;
  ReplayPolicy replay_;
  NatsClient client_;
  BackboneCounters counters_;
  std::string source_subject_;
  std::string inbox_;

  // Ingest role, by stream id: its subject ("" when not published).
  std::vector<std::string> subjects_;
  std::unordered_map<std::string, fanout::StreamId> by_last_subject_;

  // Edge role.
  upstream::Ingest edge_ingest_;
  std::unordered_map<fanout::StreamId, EdgeStream> edge_;
  // Looked up by the reply-to of every message: without building a string.
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, Source, StringHash, std::equal_to<>> sources_;
  std::uint64_t next_source_ = 1;

  net::steady_timer sweep_timer_;
  net::steady_timer rtt_timer_;
  bool started_ = false;
};

}  // namespace tickrelay::backbone
