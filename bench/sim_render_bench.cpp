// How many events per second tickrelay-sim can produce on one core, per
// stream kind: rendering alone, the model step plus rendering (what each due
// event costs), and the same with the combined-stream envelope.
// items_per_second is events/s; bytes_per_second is payload bytes/s.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "event_renderer.hpp"
#include "market_model.hpp"
#include "symbol_list.hpp"

namespace {

using namespace tickrelay::sim;

constexpr std::int64_t kStart = 1'700'000'000'000'000;
constexpr RenderFormat kSpotMs{Flavour::spot, TimeUnit::millisecond};
constexpr RenderFormat kSpotUs{Flavour::spot, TimeUnit::microsecond};
constexpr RenderFormat kFuturesMs{Flavour::usdm_futures, TimeUnit::millisecond};

// The study's 346 pairs, so !miniTicker@arr has its real size.
SymbolList pairs() { return SymbolList::from_file(std::string(TICKRELAY_SOURCE_DIR) + "/config/usdt-pairs.txt"); }

struct Fixture {
  SymbolList symbols = pairs();
  MarketModel model{symbols, 1, kStart};
  StreamId stream;
  std::string payload;
  std::string envelope;
  std::int64_t now = kStart;

  explicit Fixture(const std::string& name) : stream(model.open_stream(*parse_stream_spec(name, symbols).spec)) {
    // Warm: buffers at full size, the kline bar open.
    for (int i = 0; i < 100; ++i) render_event(model.advance(stream, now += 1000), kSpotMs, payload);
  }
};

void render_only(benchmark::State& state, const std::string& name, RenderFormat format) {
  Fixture f(name);
  const Event event = f.model.advance(f.stream, f.now);
  std::size_t bytes = 0;
  for (auto _ : state) {
    render_event(event, format, f.payload);
    bytes += f.payload.size();
    benchmark::DoNotOptimize(f.payload.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}

void advance_and_render(benchmark::State& state, const std::string& name, RenderFormat format, bool envelope) {
  Fixture f(name);
  std::size_t bytes = 0;
  for (auto _ : state) {
    // A fresh time per event, as the server stamps each one (1 µs apart).
    const Event& event = f.model.advance(f.stream, ++f.now);
    render_event(event, format, f.payload);
    bytes += f.payload.size();
    if (envelope) render_envelope(name, f.payload, f.envelope);
    benchmark::DoNotOptimize(f.payload.data());
    benchmark::DoNotOptimize(f.envelope.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}

void register_all() {
  const std::vector<std::string> streams = {
      "btcusdt@trade",  "btcusdt@aggTrade", "btcusdt@kline_1m",      "btcusdt@bookTicker",   "btcusdt@miniTicker",
      "btcusdt@ticker", "btcusdt@depth5",   "btcusdt@depth20@100ms", "btcusdt@markPrice@1s", "!miniTicker@arr",
  };
  for (const auto& name : streams) {
    benchmark::RegisterBenchmark(("render/spot_ms/" + name).c_str(),
                                 [name](benchmark::State& s) { render_only(s, name, kSpotMs); });
  }
  for (const auto& name : streams) {
    benchmark::RegisterBenchmark(("advance+render/spot_ms/" + name).c_str(),
                                 [name](benchmark::State& s) { advance_and_render(s, name, kSpotMs, false); });
  }
  for (const auto& name :
       {std::string("btcusdt@trade"), std::string("btcusdt@kline_1h"), std::string("btcusdt@bookTicker")}) {
    benchmark::RegisterBenchmark(("advance+render/spot_us/" + name).c_str(),
                                 [name](benchmark::State& s) { advance_and_render(s, name, kSpotUs, false); });
    benchmark::RegisterBenchmark(("advance+render/futures/" + name).c_str(),
                                 [name](benchmark::State& s) { advance_and_render(s, name, kFuturesMs, false); });
    benchmark::RegisterBenchmark(("advance+render+envelope/spot_ms/" + name).c_str(),
                                 [name](benchmark::State& s) { advance_and_render(s, name, kSpotMs, true); });
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
