#include "run_control.hpp"

#include <boost/asio/post.hpp>

namespace tickrelay::client {

RunControl::RunControl(net::io_context& control_loop, std::uint64_t max_messages, std::int64_t planned_connections,
                       std::function<void()> on_finish, std::function<void(const AlertEvent&)> on_alert)
    : control_loop_(control_loop),
      max_messages_(max_messages),
      remaining_connections_(planned_connections),
      on_finish_(std::move(on_finish)),
      on_alert_(std::move(on_alert)) {}

void RunControl::connection_gone() {
  if (remaining_connections_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    finish();
  }
}

void RunControl::finish() {
  if (stopping_.exchange(true)) {
    return;
  }
  net::post(control_loop_, [this] { on_finish_(); });
}

void RunControl::alert(AlertEvent event) {
  if (!on_alert_) return;
  net::post(control_loop_, [this, event = std::move(event)] { on_alert_(event); });
}

}  // namespace tickrelay::client
