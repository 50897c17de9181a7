#include "fault_plan.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace tickrelay::sim {

std::string_view to_string(ConnectionVerdict verdict) {
  switch (verdict) {
    case ConnectionVerdict::run: return "run";
    case ConnectionVerdict::stall: return "stall";
    case ConnectionVerdict::send_shutdown: return "send_shutdown";
    case ConnectionVerdict::close_after_shutdown: return "close_after_shutdown";
    case ConnectionVerdict::close_max_age: return "close_max_age";
    case ConnectionVerdict::drop: return "drop";
  }
  return "?";
}

FaultPlan::FaultPlan(FaultSettings settings, Clock::time_point start) : settings_(std::move(settings)), start_(start) {}

bool FaultPlan::targets(std::string_view path) const { return path.starts_with(settings_.target_path); }

bool FaultPlan::admit(std::string_view path, Clock::time_point now) {
  if (!targets(path)) return true;
  ++targeted_attempts_;
  if (targeted_attempts_ <= settings_.refuse_first) return false;
  return !(settings_.refuse_for > Micros{0} && now - start_ < settings_.refuse_for);
}

ConnectionFaults FaultPlan::open(std::string_view path, Clock::time_point now) const {
  ConnectionFaults connection;
  connection.targeted = targets(path);
  connection.opened_at = now;
  return connection;
}

ConnectionCheck FaultPlan::check(ConnectionFaults& connection, Clock::time_point now) const {
  constexpr auto kNever = Clock::time_point::max();
  const Clock::time_point opened = connection.opened_at;
  const bool faults = connection.targeted;

  // Terminal or one-shot events: (when, verdict). Earliest due wins.
  std::array<std::pair<Clock::time_point, ConnectionVerdict>, 4> events{{
      {opened + settings_.max_connection_age, ConnectionVerdict::close_max_age},
      {faults && settings_.drop_every > Micros{0} ? opened + settings_.drop_every : kNever, ConnectionVerdict::drop},
      {kNever, ConnectionVerdict::send_shutdown},
      {kNever, ConnectionVerdict::close_after_shutdown},
  }};
  if (faults && settings_.shutdown_after > Micros{0}) {
    const auto notice = opened + settings_.shutdown_after;
    if (!connection.shutdown_sent) events[2].first = notice;
    events[3].first = notice + settings_.shutdown_grace;
  }

  ConnectionCheck result;
  const std::pair<Clock::time_point, ConnectionVerdict>* due = nullptr;
  for (const auto& event : events) {
    if (event.first <= now) {
      if (due == nullptr || event.first < due->first) due = &event;
    } else {
      result.recheck_at = std::min(result.recheck_at, event.first);
    }
  }

  bool stalled = false;
  if (faults && settings_.stall_after) {
    const auto begin = opened + *settings_.stall_after;
    const auto end = settings_.stall_for > Micros{0} ? begin + settings_.stall_for : kNever;
    if (now < begin) {
      result.recheck_at = std::min(result.recheck_at, begin);
    } else if (now < end) {
      stalled = true;
      result.recheck_at = std::min(result.recheck_at, end);
    }
  }

  if (due != nullptr) {
    result.verdict = due->second;
    if (result.verdict == ConnectionVerdict::send_shutdown) {
      connection.shutdown_sent = true;
      // The close follows; ask again for it (or anything sooner).
      result.recheck_at = std::min(result.recheck_at, events[3].first);
    } else {
      result.recheck_at = kNever;  // the connection ends
    }
    return result;
  }
  result.verdict = stalled ? ConnectionVerdict::stall : ConnectionVerdict::run;
  return result;
}

FrameDecision FaultPlan::on_frame(ConnectionFaults& connection) const {
  FrameDecision decision;
  const std::uint64_t n = ++connection.frames;
  if (!connection.targeted) return decision;
  if (settings_.malformed_every > 0 && n % settings_.malformed_every == 0) {
    const auto& kinds = settings_.malformed_kinds;
    const std::uint64_t cycle = kinds.empty() ? kMalformedKinds : kinds.size();
    const std::uint64_t which = (n / settings_.malformed_every - 1) % cycle;
    decision.malformed = kinds.empty() ? static_cast<MalformedKind>(which) : kinds[which];
  }
  decision.drop_after = settings_.drop_after_events > 0 && n == settings_.drop_after_events;
  return decision;
}

bool FaultPlan::skips(std::uint64_t event_number, Endpoint endpoint) const {
  if (settings_.skip_every == 0 || event_number == 0 || event_number % settings_.skip_every != 0) return false;
  const std::string_view target = settings_.target_path;
  if (target.empty()) return true;
  static constexpr std::array<std::string_view, 2> kSpot{"/ws", "/stream"};
  static constexpr std::array<std::string_view, 1> kMarket{"/market"};
  static constexpr std::array<std::string_view, 1> kPublic{"/public"};
  const auto overlaps = [&](const auto& paths) {
    return std::any_of(paths.begin(), paths.end(),
                       [&](std::string_view path) { return path.starts_with(target) || target.starts_with(path); });
  };
  switch (endpoint) {
    case Endpoint::spot: return overlaps(kSpot);
    case Endpoint::usdm_market: return overlaps(kMarket);
    case Endpoint::usdm_public: return overlaps(kPublic);
  }
  return false;
}

}  // namespace tickrelay::sim
