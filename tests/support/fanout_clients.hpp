#pragma once
// Many WebSocket clients on one event loop, for fan-out tests: each reads
// continuously and checks that an id field grows by exactly one per event.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tickrelay::test {

struct ClientTally {
  std::int64_t first_id = -1;
  std::int64_t last_id = -1;
  std::uint64_t messages = 0;
  std::uint64_t gaps = 0;        // ids that skipped ahead
  std::uint64_t duplicates = 0;  // ids that repeated or went back
  std::uint64_t binary = 0;      // binary messages (market data is text)
  bool closed = false;
  int close_code = 0;
};

// Counts one message of a client into its tally: the id after "<id_field>":
// must be the last one plus one (a message without it counts, unchecked).
void tally_message(ClientTally& tally, std::string_view text, std::string_view id_field);

class FanoutClients {
 public:
  // Opens `count` connections to `url` (ws:// or wss://, verified against
  // `ca_file` when given); `id_field` is the raw event's id key (e.g. "a"
  // for aggTrade). Throws if a connection fails.
  FanoutClients(const std::string& url, std::size_t count, std::string id_field, const std::string& ca_file = "");
  ~FanoutClients();
  FanoutClients(const FanoutClients&) = delete;
  FanoutClients& operator=(const FanoutClients&) = delete;

  // Reads until every client has `messages` or the timeout passes; true if
  // all got there.
  bool run_until_each_has(std::uint64_t messages, std::chrono::milliseconds timeout);
  const std::vector<ClientTally>& tallies() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// GoogleTest expectations that every client is open and got every event of
// its stream exactly once, in order, between its first and last id.
void expect_every_event(const FanoutClients& clients);
void expect_every_event(const ClientTally& tally, const std::string& who);

}  // namespace tickrelay::test
