// load_capacity: messages per second through tickrelay-load's processing
// path on one thread, without sockets: WebSocket frame decoding, simdjson
// extraction, latency histogram, gap tracking and per-symbol state, exactly
// as LoadWorker runs them for each message the raw reader hands over.
//
//   load_capacity [seconds per case, default 2]
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "load_options.hpp"
#include "load_worker.hpp"
#include "message_processor.hpp"
#include "run_control.hpp"
#include "run_setup.hpp"
#include "tickrelay/wire/duration.hpp"
#include "tickrelay/wire/ws_frame.hpp"

using namespace tickrelay;
using namespace tickrelay::client;

namespace {

// Messages per simulated socket read: what a 256 KiB read holds.
constexpr std::size_t kMessagesPerRead = 1900;
constexpr std::size_t kMessages = 64 * 1024;

struct Case {
  const char* name;
  std::string (*make)(std::size_t i, std::uint64_t e_us);
};

const char* kSymbols[] = {"BTCUSDT", "ETHUSDT", "BNBUSDT", "XRPUSDT"};

std::string trade(std::size_t i, std::uint64_t e) {
  const char* s = kSymbols[i % 4];
  return "{\"e\":\"trade\",\"E\":" + std::to_string(e) + ",\"s\":\"" + s + "\",\"t\":" + std::to_string(1000 + i / 4) +
         ",\"p\":\"43210.12\",\"q\":\"0.00100\",\"T\":" + std::to_string(e) + ",\"m\":true,\"M\":true}";
}

std::string combined_kline(std::size_t i, std::uint64_t e) {
  const char* s = kSymbols[i % 4];
  std::string lower(s);
  for (auto& c : lower) c = static_cast<char>(std::tolower(c));
  return "{\"stream\":\"" + lower + "@kline_1m\",\"data\":{\"e\":\"kline\",\"E\":" + std::to_string(e) + ",\"s\":\"" +
         s + "\",\"k\":{\"t\":1700000000000,\"T\":1700000059999,\"s\":\"" + s +
         "\",\"i\":\"1m\",\"f\":100,\"L\":" + std::to_string(1000 + i / 4) +
         ",\"o\":\"43000.00\",\"c\":\"43210.12\",\"h\":\"43300.00\",\"l\":\"42900.00\",\"v\":\"10.5\",\"n\":100,"
         "\"x\":false,\"q\":\"450000.1\",\"V\":\"5.2\",\"Q\":\"220000.3\",\"B\":\"0\"}}}";
}

std::string book_ticker(std::size_t i, std::uint64_t) {
  const char* s = kSymbols[i % 4];
  return "{\"u\":" + std::to_string(400900217 + i) + ",\"s\":\"" + s +
         "\",\"b\":\"25.35190000\",\"B\":\"31.21000000\",\"a\":\"25.36520000\",\"A\":\"40.66000000\"}";
}

std::uint64_t now_us() { return static_cast<std::uint64_t>(LoadWorker::now_ns() / 1000); }

std::string frame(const std::string& payload) {
  std::string out(wire::frame_header_size(payload.size()), '\0');
  wire::write_frame_header(out.data(), payload.size());
  return out + payload;
}

// Calls fn(payload, size, n) for each frame of the buffer; returns the count.
template <class Fn>
std::size_t for_each_frame(std::vector<char>& buffer, std::size_t size, Fn fn) {
  std::size_t pos = 0, n = 0;
  while (pos < size) {
    wire::FrameHeader h;
    std::uint64_t needed = 0;
    wire::decode_frame(reinterpret_cast<const std::uint8_t*>(buffer.data() + pos), size - pos, h, needed);
    fn(buffer.data() + pos + h.header_size, static_cast<std::size_t>(h.payload_size), n);
    pos += static_cast<std::size_t>(needed);
    ++n;
  }
  return n;
}

struct Result {
  double messages_per_second;  // wall clock: lower when other programs share the CPU
  double cpu_ns_per_message;   // this thread's CPU time: what a free core would cost
  double bytes_per_message;
};

double thread_cpu_seconds() {
  timespec ts;
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Runs `body` over the framed buffer until `seconds` have passed.
template <class Body>
Result measure(const std::string& frames, double seconds, Body body) {
  std::uint64_t messages = 0;
  const auto start = std::chrono::steady_clock::now();
  const double cpu_start = thread_cpu_seconds();
  const auto deadline = start + wire::to_duration(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    messages += body();
  }
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu = thread_cpu_seconds() - cpu_start;
  return Result{static_cast<double>(messages) / elapsed, cpu * 1e9 / static_cast<double>(messages),
                static_cast<double>(frames.size()) / static_cast<double>(kMessages)};
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 2.0;
  const Case cases[] = {{"trade (raw)", trade},
                        {"kline (combined)", combined_kline},
                        {"bookTicker (no E)", book_ticker}};

  ParseOutcome parsed = parse_load_options({"tickrelay-load", "--url", "ws://127.0.0.1:9/ws/x"});
  LoadOptions options = *parsed.options;
  net::io_context control_loop;
  std::printf("tickrelay-load processing path, one thread, %zu-message buffer (%.1f s per case)\n", kMessages, seconds);
  std::printf("%-20s %12s %11s %14s %10s   %s\n", "payload", "messages/s", "cpu ns/msg", "msg/s@1 core", "bytes/msg",
              "path");

  for (const Case& c : cases) {
    const std::uint64_t e = now_us();
    std::string frames;
    for (std::size_t i = 0; i < kMessages; ++i) frames += frame(c.make(i, e));
    std::vector<char> buffer(frames.begin(), frames.end());
    buffer.resize(frames.size() + MessageProcessor::kPadding);
    const char* const limit = buffer.data() + buffer.size();

    // 1. simdjson extraction alone.
    MessageProcessor processor;
    const Result parse_only = measure(frames, seconds, [&] {
      return for_each_frame(buffer, frames.size(), [&](char* payload, std::size_t size, std::size_t) {
        processor.process(payload, size, static_cast<std::size_t>(limit - payload));
      });
    });

    // 2. The whole per-message path of LoadWorker::on_message. Ids repeat
    // each round, so from the second round the gap tracker takes its
    // duplicate branch: the same work as in order.
    RunSetup setup{options, {}, nullptr};
    RunControl control(control_loop, 0, 1, [] {}, {});
    LoadWorker worker(0, setup, control);
    worker.add_connection(0, std::chrono::nanoseconds(0));
    ConnectionSlot& slot = worker.slot(0, 0);
    const Result full = measure(frames, seconds, [&] {
      std::int64_t now = 0;
      return for_each_frame(buffer, frames.size(), [&](char* payload, std::size_t size, std::size_t n) {
        if (n % kMessagesPerRead == 0) now = LoadWorker::now_ns();
        worker.on_message(0, slot, payload, size, static_cast<std::size_t>(limit - payload), now);
      });
    });

    // 3. As the Beast reader does it: a copy into the padded buffer first,
    // one clock read per message.
    const Result copied = measure(frames, seconds, [&] {
      return for_each_frame(buffer, frames.size(), [&](char* payload, std::size_t size, std::size_t) {
        worker.on_message_copy(0, slot, std::string_view(payload, size), LoadWorker::now_ns());
      });
    });

    const auto row = [](const char* name, const Result& r, const char* path) {
      std::printf("%-20s %12.0f %11.1f %14.0f %10.0f   %s\n", name, r.messages_per_second, r.cpu_ns_per_message,
                  1e9 / r.cpu_ns_per_message, r.bytes_per_message, path);
    };
    row(c.name, parse_only, "parse only");
    row("", full, "full path (raw reader)");
    row("", copied, "full path, copy + clock per message (beast reader)");
  }
  return 0;
}
