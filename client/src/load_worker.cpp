#include "load_worker.hpp"

#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <algorithm>
#include <boost/asio/post.hpp>

#include "beast_session.hpp"
#include "raw_session.hpp"

namespace tickrelay::client {
namespace {

// Reconnect backoff: quick enough that a restarted server is back within a
// second, capped so that a dead one is not hammered.
constexpr auto kFirstRetry = std::chrono::milliseconds(100);
constexpr auto kMaxRetry = std::chrono::milliseconds(2000);

// E above this is in microseconds: milliseconds since 1970 reach 1e14 only in
// the year 5138, microseconds passed it in 1973.
constexpr std::uint64_t kMicrosecondThreshold = 100'000'000'000'000ull;

std::uint64_t stream_key(std::uint32_t symbol, EventKind kind, std::uint32_t interval) {
  return (std::uint64_t{symbol} << 16) | (std::uint64_t{static_cast<std::uint8_t>(kind)} << 8) | (interval & 0xff);
}

}  // namespace

LoadWorker::LoadWorker(std::size_t index, const RunSetup& setup, RunControl& control)
    : index_(index),
      setup_(setup),
      control_(control),
      work_(loop_.get_executor()),
      start_timer_(loop_),
      processor_(setup.options.kline_gaps),
      read_buffer_(kReadBufferSize + MessageProcessor::kPadding) {
  for (std::size_t t = 0; t < setup.options.targets.size(); ++t) {
    tallies_.push_back(std::make_unique<TargetTally>(setup.options.alert_pct));
  }
}

LoadWorker::~LoadWorker() = default;

std::int64_t LoadWorker::now_ns() {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void LoadWorker::add_connection(std::size_t target, std::chrono::nanoseconds offset) {
  auto& slots = tallies_[target]->slots;
  slots.emplace_back();
  plan_.push_back(PlannedStart{offset, target, slots.size() - 1});
}

void LoadWorker::run(std::optional<int> cpu) {
  if (cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(*cpu, &set);
    // Best effort: a CPU outside the allowed set leaves the thread unpinned.
    ::pthread_setaffinity_np(::pthread_self(), sizeof set, &set);
  }
  std::stable_sort(plan_.begin(), plan_.end(),
                   [](const PlannedStart& a, const PlannedStart& b) { return a.offset < b.offset; });
  started_ = std::chrono::steady_clock::now();
  net::post(loop_, [this] { do_start_next(); });
  loop_.run();
}

void LoadWorker::request_stop() {
  net::post(loop_, [this] { stop_now(); });
}

void LoadWorker::mark_warm_up_end() {
  // On this worker's thread, the only writer: slots' counts are plain integers.
  net::post(loop_, [this] {
    warm_up_end_.clear();
    for (const auto& tally : tallies_) {
      TallySnapshot& s = warm_up_end_.emplace_back();
      for_each_count([](bool, std::uint64_t& at_end, const RelaxedCounter& count) { at_end = count.get(); }, s, *tally);
      s.latency.merge_from(tally->latency);
      s.slot_messages.reserve(tally->slots.size());
      for (const ConnectionSlot& slot : tally->slots) s.slot_messages.push_back(slot.messages);
    }
  });
}

void LoadWorker::stop_now() {
  if (stopped_) return;
  stopped_ = true;
  start_timer_.cancel();
  for (auto& tally : tallies_) {
    for (auto& slot : tally->slots) {
      if (slot.retry) slot.retry->cancel();
      if (slot.session != nullptr) slot.session->close();
    }
  }
  // The loop returns once the closed sessions' handlers have run.
  work_.reset();
}

void LoadWorker::do_start_next() {
  const auto now = std::chrono::steady_clock::now();
  while (next_start_ < plan_.size() && !stopped_) {
    const PlannedStart& start = plan_[next_start_];
    if (started_ + start.offset > now) {
      start_timer_.expires_at(started_ + start.offset);
      start_timer_.async_wait([this](error_code ec) { on_start_timer(ec); });
      return;
    }
    ++next_start_;
    open(start.target, start.index);
  }
}

void LoadWorker::on_start_timer(error_code ec) {
  if (ec || stopped_) return;
  do_start_next();
}

void LoadWorker::open(std::size_t target, std::size_t index) {
  if (stopped_ || control_.stopping()) return;
  const TargetSpec& spec = setup_.options.targets[target];
  if (setup_.options.reader != ReaderKind::beast) {
    std::make_shared<RawSession>(*this, target, index)->start();
  } else if (spec.tls) {
    std::make_shared<BeastSession<TlsStream>>(*this, target, index, TlsStream(loop_, *setup_.tls))->start();
  } else {
    std::make_shared<BeastSession<PlainStream>>(*this, target, index, PlainStream(loop_))->start();
  }
}

void LoadWorker::attach(std::size_t target, std::size_t index, Session* session) {
  slot(target, index).session = session;
}

void LoadWorker::detach(std::size_t target, std::size_t index, Session* session) {
  ConnectionSlot& s = slot(target, index);
  if (s.session == session) s.session = nullptr;
}

void LoadWorker::on_up(std::size_t target, std::size_t index) {
  TargetTally& tally = *tallies_[target];
  ConnectionSlot& s = tally.slots[index];
  tally.connections_up.add();
  if (s.ever_up) tally.reconnects.add();
  s.ever_up = true;
  s.attempts = 0;
  // A new connection starts new sequences: ids missed while it was down are
  // not losses of this connection.
  s.gaps.reset();
}

void LoadWorker::on_down(std::size_t target, std::size_t index, bool was_up, const std::string& why) {
  TargetTally& tally = *tallies_[target];
  ConnectionSlot& s = tally.slots[index];
  if (was_up) tally.connections_up.sub();
  if (stopped_ || control_.stopping()) {
    return;  // the end of the run, not a fault
  }
  (was_up ? tally.drops : tally.connect_errors).add();
  if (tally.first_error.empty()) tally.first_error = why;
  if (!setup_.options.reconnect) {
    control_.connection_gone();
    return;
  }
  const auto delay = std::min<std::chrono::milliseconds>(kFirstRetry * (1u << std::min(s.attempts, 5u)), kMaxRetry);
  ++s.attempts;
  if (!s.retry) s.retry = std::make_unique<net::steady_timer>(loop_);
  s.retry->expires_after(delay);
  s.retry->async_wait([this, target, index](error_code ec) {
    if (!ec) open(target, index);
  });
}

bool LoadWorker::on_message(std::size_t target, ConnectionSlot& slot, const char* data, std::size_t size,
                            std::size_t capacity, std::int64_t now_ns) {
  if (control_.stopping()) return false;
  return on_processed(target, slot, processor_.process(data, size, capacity), size, now_ns);
}

bool LoadWorker::on_message_copy(std::size_t target, ConnectionSlot& slot, std::string_view message,
                                 std::int64_t now_ns) {
  if (control_.stopping()) return false;
  return on_processed(target, slot, processor_.process_copy(message), message.size(), now_ns);
}

bool LoadWorker::on_processed(std::size_t target, ConnectionSlot& slot, MessageClass kind, std::size_t size,
                              std::int64_t now_ns) {
  TargetTally& tally = *tallies_[target];
  switch (kind) {
    case MessageClass::control: tally.control_messages.add(); return true;
    case MessageClass::malformed: tally.malformed.add(); return true;
    case MessageClass::market: break;
  }
  if (!control_.take_message()) return false;
  tally.messages.add();
  tally.bytes.add(size);
  ++slot.messages;
  slot.bytes += size;
  const TargetSpec& spec = setup_.options.targets[target];
  const TimeUnit unit = setup_.options.time_unit;
  bool timed = false;
  for (const MarketEvent& event : processor_.events()) {
    // One latency sample per message: an array's events left together.
    if (!timed && event.has_event_time) {
      timed = true;
      const bool micro = unit == TimeUnit::microseconds ||
                         (unit == TimeUnit::automatic &&
                          (spec.url_microseconds || event.event_time > kMicrosecondThreshold));
      if (!micro) tally.millisecond_times.add();
      const auto sent_ns = static_cast<std::int64_t>(event.event_time) * (micro ? 1'000 : 1'000'000);
      const std::int64_t latency = now_ns - sent_ns;
      if (latency < 0) tally.negative_latency.add();
      tally.latency.record(latency < 0 ? 0 : static_cast<std::uint64_t>(latency));
    }
    if (event.symbol.empty()) continue;
    const std::uint32_t symbol = tally.symbols.intern(event.symbol);
    if (event.has_sequence) {
      const auto key = stream_key(symbol, event.kind, event.kind == EventKind::kline ? interval_id(event.interval) : 0);
      const GapTracker::Outcome outcome = slot.gaps.observe(key, event.sequence);
      if (outcome.missing != 0) tally.lost.add(outcome.missing);
      if (outcome.duplicate) tally.duplicates.add();
    }
    if (auto crossing = tally.symbols.update(symbol, event)) {
      control_.alert(
          AlertEvent{target, std::string(crossing->symbol), crossing->change_pct, crossing->price, crossing->above});
    }
  }
  if (!timed) tally.without_event_time.add();
  return true;
}

std::uint32_t LoadWorker::interval_id(std::string_view interval) {
  // A handful of kline intervals exist; a linear scan beats hashing here.
  for (std::size_t i = 0; i < intervals_.size(); ++i) {
    if (intervals_[i] == interval) return static_cast<std::uint32_t>(i);
  }
  intervals_.emplace_back(interval);
  return static_cast<std::uint32_t>(intervals_.size() - 1);
}

}  // namespace tickrelay::client
