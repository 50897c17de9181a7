// ClientRegistry: admission limits on their own, then with real sessions
// over loopback (refusals at the handshake, close_all's drain).
#include "tickrelay/fanout/client_registry.hpp"

#include <gtest/gtest.h>

#include <optional>

#include "session_harness.hpp"
#include "tickrelay/fanout/frame.hpp"

namespace tickrelay::fanout {
namespace {

using testing::SessionHarness;

const auto kA = net::ip::make_address("10.0.0.1");
const auto kB = net::ip::make_address("10.0.0.2");

class ClientRegistryTest : public SessionHarness {};

TEST_F(ClientRegistryTest, MaxClientsCountsEveryAdmissionUntilItIsReleased) {
  config_.max_clients = 2;
  start();
  RefusalReason why{};
  auto first = registry_->admit(kA, why);
  auto second = registry_->admit(kB, why);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(registry_->admitted(), 2u);
  EXPECT_FALSE(registry_->admit(kA, why));
  EXPECT_EQ(why, RefusalReason::max_clients);
  first.reset();
  EXPECT_EQ(registry_->admitted(), 1u);
  EXPECT_TRUE(registry_->admit(kA, why));
}

TEST_F(ClientRegistryTest, PerAddressLimitLeavesOtherAddressesAlone) {
  config_.max_clients_per_ip = 1;
  start();
  RefusalReason why{};
  auto a = registry_->admit(kA, why);
  ASSERT_TRUE(a);
  EXPECT_FALSE(registry_->admit(kA, why));
  EXPECT_EQ(why, RefusalReason::max_clients_per_ip);
  auto b = registry_->admit(kB, why);
  EXPECT_TRUE(b);
  // Moving an admission moves the count; releasing it frees the address.
  std::optional<ClientRegistry::Admission> moved(std::move(*a));
  a.reset();
  EXPECT_EQ(registry_->admitted(), 2u);
  moved.reset();
  EXPECT_TRUE(registry_->admit(kA, why));
}

TEST_F(ClientRegistryTest, HandshakePastMaxClientsIsRefusedAndCounted) {
  config_.max_clients = 1;
  catalog_.add("btcusdt@trade");
  start();
  auto& first = connect_open("/ws/btcusdt@trade");
  auto& second = connect("/ws/btcusdt@trade");
  ASSERT_TRUE(run_until([&] { return second.ended; }));
  EXPECT_FALSE(second.open);
  EXPECT_EQ(counters_.handshakes_refused[static_cast<std::size_t>(RefusalReason::max_clients)], 1u);
  EXPECT_EQ(registry_->size(), 1u);
  EXPECT_FALSE(first.ended);
}

TEST_F(ClientRegistryTest, HandshakePastThePerAddressLimitIsRefused) {
  config_.max_clients_per_ip = 1;
  catalog_.add("btcusdt@trade");
  start();
  connect_open("/ws/btcusdt@trade");
  auto& second = connect("/ws/btcusdt@trade");
  ASSERT_TRUE(run_until([&] { return second.ended; }));
  EXPECT_FALSE(second.open);
  EXPECT_EQ(counters_.handshakes_refused[static_cast<std::size_t>(RefusalReason::max_clients_per_ip)], 1u);
}

TEST_F(ClientRegistryTest, CloseAllDrainsEveryQueueThenCloses1001) {
  const auto trade = catalog_.add("btcusdt@trade");
  start();
  auto& a = connect_open("/ws/btcusdt@trade");
  auto& b = connect_open("/stream?streams=btcusdt@trade");
  ASSERT_TRUE(run_until([&] { return router_.subscriber_count(trade) == 2; }));

  // Published in the same turn as close_all: queued, not yet written, and
  // still delivered before the close frame.
  router_.publish(Frame::from_payload("btcusdt@trade", R"({"e":"trade"})", trade, 0, Clock::now()));
  std::optional<std::size_t> left;
  registry_->close_all(std::chrono::seconds(30), std::chrono::seconds(30), [&](std::size_t n) { left = n; });
  ASSERT_TRUE(run_until([&] { return left.has_value() && a.ended && b.ended; }));
  EXPECT_EQ(*left, 0u);
  for (auto* client : {&a, &b}) {
    EXPECT_EQ(client->messages.size(), 1u);
    EXPECT_EQ(client->close_code(), 1001);
    EXPECT_EQ(client->close_text(), "server shutting down");
  }
  EXPECT_EQ(counters_.client_disconnects[static_cast<std::size_t>(DisconnectReason::shutdown)], 2u);
  EXPECT_EQ(all_disconnects(), 2u);
  EXPECT_EQ(counters_.clients_connected, 0u);
  EXPECT_EQ(counters_.client_queue_bytes, 0u);
  EXPECT_EQ(registry_->size(), 0u);
}

TEST_F(ClientRegistryTest, CloseAllWithNoClientsIsDoneAtOnce) {
  start();
  std::optional<std::size_t> left;
  registry_->close_all(std::chrono::seconds(30), std::chrono::seconds(30), [&](std::size_t n) { left = n; });
  ASSERT_TRUE(left.has_value());
  EXPECT_EQ(*left, 0u);
}

}  // namespace
}  // namespace tickrelay::fanout
