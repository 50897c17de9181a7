#include "sim_server.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "event_renderer.hpp"
#include "stream_spec.hpp"
#include "tickrelay/fanout/client_registry.hpp"
#include "tickrelay/fanout/frame.hpp"
#include "tickrelay/fanout/listener.hpp"
#include "tickrelay/fanout/stream_name.hpp"
#include "tickrelay/wire/endpoint.hpp"
#include "tickrelay/wire/tls_context.hpp"
#include "tickrelay/wire/ws_frame.hpp"

namespace tickrelay::sim {
namespace {

// The shortest wait between two emitting turns: at high rates each turn
// emits a batch (rate / 1000 events), which the sessions send in one write.
constexpr auto kMinTick = std::chrono::milliseconds(1);

std::int64_t unix_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Endpoint endpoint_of(std::string_view prefix) {
  if (prefix == "/market") return Endpoint::usdm_market;
  if (prefix == "/public") return Endpoint::usdm_public;
  return Endpoint::spot;
}

fanout::ServerConfig server_config(const SimOptions& options) {
  fanout::ServerConfig server;
  server.listen = options.listen_host + ":" + std::to_string(options.listen_port);
  server.max_clients = 100000;
  server.max_clients_per_ip = 0;
  // The simulator is the source under test's upstream: a deep queue, so only
  // a client that stops reading for a long time is cut off.
  server.client_queue_bytes = 64 << 20;
  // Likewise in time: the relay under test may be descheduled for seconds
  // on a busy machine, and the simulator must not be what cuts it.
  server.max_client_lag_seconds = 600;
  server.max_streams_per_client = options.max_streams_per_connection;
  // Binance: 5 incoming messages a second per connection.
  server.client_message_rate = 5;
  // Silent for pong_timeout (no pong, no message): closed, as Binance does.
  server.idle_ping_seconds = std::chrono::duration<double>(options.pong_timeout).count() / 2;
  server.replay.clear();
  // A REST answer held back by --rest-delay must not meet the deadline the
  // connection has for its request.
  server.handshake_timeout_seconds = std::max(server.handshake_timeout_seconds,
                                              std::chrono::duration<double>(options.rest_delay).count() + 10);
  return server;
}

}  // namespace

SimServer::SimServer(net::io_context& ioc, SimOptions options, spdlog::logger& log)
    : ioc_(ioc),
      options_(std::move(options)),
      log_(log),
      model_(options_.symbols, options_.seed, unix_now_us(), options_.book_levels),
      pacer_(options_.rate),
      faults_(options_.faults, Clock::now()),
      rest_(model_, options_.symbols, options_.rest_weight_limit),
      tick_timer_(ioc) {
  if (!options_.plain)
    tls_ = std::make_unique<ssl::context>(wire::make_server_tls_context(options_.tls_cert_file, options_.tls_key_file));
  registry_ = std::make_unique<fanout::ClientRegistry>(ioc_, server_config(options_), router_,
                                                       static_cast<fanout::StreamCatalog&>(*this), counters_, log_);
  registry_->set_hooks(static_cast<fanout::SessionHooks*>(this));
  registry_->set_rest(static_cast<fanout::RestHandler*>(this));
  listener_ = std::make_shared<fanout::Listener>(ioc_, *registry_, tls_.get());
}

SimServer::~SimServer() = default;

void SimServer::start() {
  listener_->listen(wire::parse_endpoint(registry_->config().listen));
  listener_->start();
}

void SimServer::stop(std::function<void(std::size_t left)> done) {
  stopped_ = true;
  listener_->stop();
  tick_timer_.cancel();
  for (auto& [control, connection] : connections_) {
    connection.fault_timer->cancel();
    connection.ping_timer->cancel();
  }
  registry_->close_all(std::chrono::seconds(1), std::chrono::seconds(2), std::move(done));
}

tcp::endpoint SimServer::local_endpoint() const { return listener_->local_endpoint(); }

fanout::StreamId SimServer::resolve(std::string_view name, std::string_view prefix, bool microsecond,
                                    std::string& error) {
  const auto parsed = parse_stream_spec(name, options_.symbols);
  if (!parsed) {
    error = "invalid stream `" + std::string(name) + "`: " + std::string(describe(parsed.error));
    return fanout::kNoStream;
  }
  // Binance accepts a stream asked on the wrong path, or on USD-M's
  // /private (user data; without a listen key it carries nothing), and
  // sends nothing for it.
  if (prefix == "/private") return fanout::kSilentStream;
  const auto endpoint = endpoint_of(prefix);
  if (!offered_by(*parsed.spec, flavour_of(endpoint))) {
    error = "invalid stream `" + std::string(name) + "`: " + std::string(describe(StreamError::unknown_type));
    return fanout::kNoStream;
  }
  if (!served_on(parsed.spec->kind, endpoint)) return fanout::kSilentStream;
  const auto relay_kind = fanout::parse_stream_name(name);
  const auto kind = relay_kind ? relay_kind->kind : fanout::StreamKind::trade;
  const std::string unit = microsecond ? "us" : "ms";
  const auto stream = model_.open_stream(*parsed.spec, flavour_of(endpoint));
  if (channels_.size() <= stream) channels_.resize(stream + 1);
  auto& channel = channels_[stream];
  auto& id = channel.by_unit[microsecond ? 1 : 0];
  if (id == fanout::kNoStream) {
    id = router_.add_stream(std::to_string(stream) + "|" + unit + "|" + std::string(name), kind, false);
    if (display_names_.size() <= id) display_names_.resize(id + 1);
    display_names_[id] = std::string(name);
  }
  if (!channel.in_pacer) {
    channel.in_pacer = true;
    pacer_.add_stream(stream, Clock::now());
    schedule_tick();
  }
  return id;
}

void SimServer::schedule_tick() {
  if (tick_armed_ || stopped_ || pacer_.stream_count() == 0) return;
  const auto due = pacer_.next_due();
  if (due == Clock::time_point::max()) return;
  tick_armed_ = true;
  tick_timer_.expires_at(std::max(due, Clock::now() + kMinTick));
  tick_timer_.async_wait([this](error_code ec) {
    tick_armed_ = false;
    if (!ec) tick();
  });
}

void SimServer::tick() {
  const auto now = Clock::now();
  const auto now_us = unix_now_us();
  for (auto due = pacer_.take_due(now); due > 0 && pacer_.stream_count() > 0; --due) {
    const auto stream = pacer_.next_stream();
    auto& channel = channels_[stream];
    const bool wanted[2] = {channel.by_unit[0] != fanout::kNoStream && router_.subscriber_count(channel.by_unit[0]) > 0,
                            channel.by_unit[1] != fanout::kNoStream &&
                                router_.subscriber_count(channel.by_unit[1]) > 0};
    if (!wanted[0] && !wanted[1]) {
      // Nobody listens any more: the stream leaves the rotation until asked again.
      pacer_.remove_stream(stream);
      channel.in_pacer = false;
      continue;
    }
    if (faults_.skips(model_.sequence(stream) + 1, model_.endpoint(stream))) {
      model_.skip(stream, now_us);
      continue;
    }
    const Event& event = model_.advance(stream, now_us);
    const auto& name = model_.spec(stream).name;
    for (int unit = 0; unit < 2; ++unit) {
      if (!wanted[unit]) continue;
      render_event(event, {model_.product(stream), unit == 1 ? TimeUnit::microsecond : TimeUnit::millisecond},
                   payload_);
      router_.publish(fanout::Frame::from_payload(name, payload_, channel.by_unit[unit], now_us, now));
    }
  }
  schedule_tick();
}

std::string SimServer::path_of(const fanout::RequestTarget& target) {
  return target.prefix + (target.combined ? "/stream" : "/ws");
}

bool SimServer::admit(const fanout::RequestTarget& target) {
  const bool ok = faults_.admit(path_of(target), Clock::now());
  if (!ok) log_.info("connection refused by fault plan path={}", path_of(target));
  return ok;
}

void SimServer::opened(fanout::SessionControl& control) {
  Connection connection;
  connection.faults = faults_.open(path_of(control.target()), Clock::now());
  connection.fault_timer = std::make_unique<net::steady_timer>(ioc_);
  connection.ping_timer = std::make_unique<net::steady_timer>(ioc_);
  connections_.emplace(&control, std::move(connection));
  check_faults(control);
  schedule_ping(control);
}

void SimServer::closed(fanout::SessionControl& control) {
  const auto it = connections_.find(&control);
  if (it == connections_.end()) return;
  it->second.fault_timer->cancel();
  it->second.ping_timer->cancel();
  connections_.erase(it);
}

void SimServer::schedule_ping(fanout::SessionControl& control) {
  if (options_.ping_interval.count() == 0) return;
  auto& timer = *connections_.at(&control).ping_timer;
  timer.expires_after(options_.ping_interval);
  timer.async_wait([this, key = &control](error_code ec) {
    if (ec || !connections_.contains(key)) return;
    if (!connections_.at(key).stalled) key->ping();
    schedule_ping(*key);
  });
}

void SimServer::check_faults(fanout::SessionControl& control) {
  auto it = connections_.find(&control);
  if (it == connections_.end()) return;
  auto& connection = it->second;
  const auto check = faults_.check(connection.faults, Clock::now());
  const bool was_stalled = connection.stalled;
  connection.stalled = check.verdict == ConnectionVerdict::stall;
  if (connection.stalled != was_stalled) {
    log_.info("connection {} path={}", connection.stalled ? "stalled" : "resumed", path_of(control.target()));
  }
  switch (check.verdict) {
    case ConnectionVerdict::run:
    case ConnectionVerdict::stall: break;
    case ConnectionVerdict::send_shutdown: {
      const bool micro = control.target().microsecond;
      std::string event;
      render_server_shutdown(unix_now_us(), micro ? TimeUnit::microsecond : TimeUnit::millisecond, event);
      if (control.combined()) {
        std::string envelope;
        render_envelope(kServerShutdownStream, event, envelope);
        event = std::move(envelope);
      }
      log_.info("sending serverShutdown path={}", path_of(control.target()));
      control.send_text(event);
      break;
    }
    case ConnectionVerdict::close_after_shutdown: return control.close(1001, "server shutdown");
    case ConnectionVerdict::close_max_age: return control.close(1000, "connection age limit");
    case ConnectionVerdict::drop:
      log_.info("dropping connection path={}", path_of(control.target()));
      return control.abort();
  }
  if (check.recheck_at == Clock::time_point::max()) return;
  auto& timer = *connection.fault_timer;
  timer.expires_at(check.recheck_at);
  timer.async_wait([this, key = &control](error_code ec) {
    if (!ec) check_faults(*key);
  });
}

bool SimServer::serves(std::string_view path) const { return DepthRest::serves(path); }

void SimServer::get(std::string_view target, const net::ip::address& peer, Reply reply) {
  // The snapshot is taken now and only its sending waits, as a slow network
  // would hold it: events published meanwhile are newer than it.
  auto answer = rest_.answer(target, peer.to_string(), unix_now_us());
  if (options_.rest_delay.count() == 0 || stopped_) return reply(std::move(answer));
  auto timer = std::make_shared<net::steady_timer>(ioc_, options_.rest_delay);
  // The timer owns itself through its handler; the session waits on `reply`.
  timer->async_wait(
      [timer, answer = std::move(answer), reply = std::move(reply)](error_code) mutable { reply(std::move(answer)); });
}

bool SimServer::silent(fanout::SessionControl& control) {
  const auto it = connections_.find(&control);
  return it != connections_.end() && it->second.stalled;
}

fanout::SessionHooks::FrameAction SimServer::on_frame(fanout::SessionControl& control, const fanout::FramePtr& frame) {
  auto& connection = connections_.at(&control);
  if (connection.stalled) return {};
  const auto decision = faults_.on_frame(connection.faults);
  if (!decision.malformed) return {frame, decision.drop_after};
  std::string text;
  const bool micro = control.target().microsecond;
  render_malformed(*decision.malformed, display_names_[frame->stream()], frame->raw_payload(), control.combined(),
                   unix_now_us(), micro ? TimeUnit::microsecond : TimeUnit::millisecond, text);
  const auto opcode = *decision.malformed == MalformedKind::binary_frame ? wire::Opcode::binary : wire::Opcode::text;
  std::string framed(wire::frame_header_size(text.size()), '\0');
  wire::write_frame_header(framed.data(), text.size(), opcode);
  framed += text;
  if (faults_.settings().malformed_between) {
    // One frame of the fan-out, two on the wire: the bad one, then the event.
    const auto event = frame->wire(control.combined());
    framed.append(static_cast<const char*>(event.data()), event.size());
  }
  return {fanout::Frame::from_wire(framed), decision.drop_after};
}

}  // namespace tickrelay::sim
