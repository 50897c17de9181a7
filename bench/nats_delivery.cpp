// What it costs one core to take NATS messages in: the relay's way (nats.c
// driven by the relay's io_context through its event-loop adapter, messages
// drained from synchronous subscriptions on the loop) against nats.c's own
// threads (a reader thread, a delivery thread per subscription) handing each
// message to the loop with a post, the way a threaded client library would
// be joined to a one-thread relay.
//
//   nats_delivery --url nats://127.0.0.1:4222 --mode loop|handoff --messages N --rate R [--cpu 0]
//
// The process (every thread of it) is pinned to one CPU; a publisher child
// on --publisher-cpu sends N messages of --size bytes at R a second. Prints
// one line: received, lost, CPU seconds of the whole process, CPU per
// message, and context switches.
#include <nats/nats.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <atomic>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "tickrelay/relay/nats_client.hpp"

namespace {

using Clock = std::chrono::steady_clock;

void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof set, &set);
}

// The publisher: its own process and connection, paced in 1 ms slices.
int publish(const std::string& url, std::uint64_t messages, double rate, std::size_t size) {
  natsConnection* nc = nullptr;
  if (natsConnection_ConnectTo(&nc, url.c_str()) != NATS_OK) return 1;
  std::string payload(size, 'x');
  const auto start = Clock::now();
  for (std::uint64_t i = 0; i < messages; ++i) {
    const auto due = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(i / rate));
    if (Clock::now() < due) std::this_thread::sleep_until(due);
    std::snprintf(payload.data(), size, "%020llu", static_cast<unsigned long long>(i));
    natsConnection_Publish(nc, "bench.delivery", payload.data(), static_cast<int>(size));
  }
  natsConnection_FlushTimeout(nc, 10000);
  natsConnection_Destroy(nc);
  return 0;
}

// CPU seconds of this process's main thread and of all its other threads
// together (/proc/self/task/*/stat: utime + stime).
std::pair<double, double> thread_cpu() {
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  double main_thread = 0;
  double others = 0;
  const std::string self = std::to_string(getpid());
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream in(entry.path() / "stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::istringstream fields(text.substr(text.rfind(')') + 2));
    std::string field;
    double ticks = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i) {
      if (i == 14 || i == 15) ticks += std::stod(field);
    }
    (entry.path().filename() == self ? main_thread : others) += ticks / tick;
  }
  return {main_thread, others};
}

struct Tally {
  std::uint64_t received = 0;
  std::uint64_t checksum = 0;
  void add(const char* data, std::size_t size) {
    ++received;
    // Touch the payload as the relay's parser would.
    for (std::size_t i = 0; i < size; i += 64) checksum += static_cast<unsigned char>(data[i]);
  }
};

struct HandoffState {
  boost::asio::io_context* ioc;
  Tally* tally;
};

void on_async_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  auto* state = static_cast<HandoffState*>(closure);
  std::string copy(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
  natsMsg_Destroy(msg);
  boost::asio::post(*state->ioc,
                    [tally = state->tally, copy = std::move(copy)] { tally->add(copy.data(), copy.size()); });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"nats_delivery: CPU per NATS message taken in on one core, relay loop against nats.c threads + post"};
  std::string url = "nats://127.0.0.1:4222";
  std::string mode = "loop";
  std::uint64_t messages = 500000;
  double rate = 100000;
  std::size_t size = 200;
  int cpu = 0;
  int publisher_cpu = 1;
  double timeout = 60;
  app.add_option("--url", url);
  app.add_option("--mode", mode)->check(CLI::IsMember({"loop", "handoff"}));
  app.add_option("--messages", messages);
  app.add_option("--rate", rate);
  app.add_option("--size", size)->check(CLI::Range(24, 1 << 20));
  app.add_option("--cpu", cpu);
  app.add_option("--publisher-cpu", publisher_cpu);
  app.add_option("--timeout", timeout, "seconds before giving up on missing messages");
  CLI11_PARSE(app, argc, argv);

  pin(cpu);
  boost::asio::io_context ioc;
  Tally tally;
  auto log = spdlog::null_logger_st("bench");
  std::unique_ptr<tickrelay::backbone::NatsClient> client;
  natsConnection* nc = nullptr;
  natsSubscription* sub = nullptr;
  HandoffState state{&ioc, &tally};
  if (mode == "loop") {
    tickrelay::config::NatsConfig options;
    options.urls = {url};
    client = std::make_unique<tickrelay::backbone::NatsClient>(ioc, options, *log);
    client->start();
    client->subscribe("bench.delivery",
                      [&](std::string_view, std::string_view, const char* data, std::size_t n) { tally.add(data, n); });
  } else {
    if (natsConnection_ConnectTo(&nc, url.c_str()) != NATS_OK) return 1;
    natsConnection_Subscribe(&sub, nc, "bench.delivery", on_async_message, &state);
    natsSubscription_SetPendingLimits(sub, -1, -1);
  }
  // The subscription reaches the server before the publisher starts.
  const auto settle = Clock::now() + std::chrono::milliseconds(300);
  while (Clock::now() < settle) ioc.run_for(std::chrono::milliseconds(10));

  rusage before{};
  getrusage(RUSAGE_SELF, &before);
  const auto threads_before = thread_cpu();
  const pid_t child = fork();
  if (child == 0) {
    pin(publisher_cpu);
    _exit(publish(url, messages, rate, size));
  }
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout));
  auto last_progress = Clock::now();
  std::uint64_t last_count = 0;
  while (tally.received < messages && Clock::now() < deadline) {
    ioc.run_for(std::chrono::milliseconds(20));
    if (ioc.stopped()) ioc.restart();
    if (tally.received != last_count) {
      last_count = tally.received;
      last_progress = Clock::now();
    }
    // The publisher is done and nothing arrived for 2 s: the rest is lost.
    int status = 0;
    if (waitpid(child, &status, WNOHANG) == child) {
      if (Clock::now() - last_progress > std::chrono::seconds(2)) break;
    }
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  rusage after{};
  getrusage(RUSAGE_SELF, &after);
  const auto threads_after = thread_cpu();
  waitpid(child, nullptr, 0);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  const double cpu_s = seconds(after.ru_utime) - seconds(before.ru_utime) + seconds(after.ru_stime) -
                       seconds(before.ru_stime);
  std::printf(
      "mode=%s messages=%llu received=%llu lost=%llu elapsed_s=%.2f cpu_s=%.3f cpu_us_per_msg=%.3f "
      "main_thread_cpu_s=%.2f other_threads_cpu_s=%.2f threads=%zu voluntary_switches=%ld involuntary_switches=%ld\n",
      mode.c_str(), static_cast<unsigned long long>(messages), static_cast<unsigned long long>(tally.received),
      static_cast<unsigned long long>(messages - std::min(messages, tally.received)), elapsed, cpu_s,
      tally.received ? cpu_s * 1e6 / static_cast<double>(tally.received) : 0.0,
      threads_after.first - threads_before.first, threads_after.second - threads_before.second,
      static_cast<std::size_t>(
          std::distance(std::filesystem::directory_iterator("/proc/self/task"), std::filesystem::directory_iterator{})),
      after.ru_nvcsw - before.ru_nvcsw, after.ru_nivcsw - before.ru_nivcsw);
  if (client) client->stop();
  if (sub) natsSubscription_Destroy(sub);
  if (nc) natsConnection_Destroy(nc);
  return 0;
}
