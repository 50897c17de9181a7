#include "symbol_table.hpp"

#include <algorithm>
#include <cmath>

namespace tickrelay::client {

std::uint32_t SymbolTable::intern(std::string_view symbol) {
  const auto it = ids_.find(symbol);
  if (it != ids_.end()) {
    return it->second;
  }
  const auto id = static_cast<std::uint32_t>(states_.size());
  ids_.emplace(std::string(symbol), id);
  states_.push_back(SymbolState{.name = std::string(symbol)});
  return id;
}

std::optional<AlertCrossing> SymbolTable::update(std::uint32_t id, const MarketEvent& event) {
  SymbolState& state = states_[id];
  if (!event.has_price) {
    return std::nullopt;
  }
  // Several connections usually carry the same stream, each at its own pace:
  // an event older than the state already holds is a lagging copy, and
  // applying it would swing the price back and forth (and alerts with it).
  if (event.has_event_time && state.updates != 0 && event.event_time < state.last_time) {
    return std::nullopt;
  }
  if (state.updates == 0) {
    state.first_price = event.price;
    state.first_time = event.event_time;
  }
  ++state.updates;
  state.last_price = event.price;
  state.last_time = event.event_time;
  if (event.has_change) {
    state.change_pct = event.change_pct;
    state.change_from_first = false;
  } else {
    state.change_pct = state.first_price > 0 ? (event.price - state.first_price) / state.first_price * 100.0 : 0.0;
    state.change_from_first = true;
  }
  if (alert_pct_ <= 0) {
    return std::nullopt;
  }
  // Once per crossing, not per message: only a change of side reports.
  const bool above = std::fabs(state.change_pct) >= alert_pct_;
  if (above == state.above_alert) {
    return std::nullopt;
  }
  state.above_alert = above;
  return AlertCrossing{state.name, state.change_pct, state.last_price, above};
}

void merge_symbol_states(std::vector<SymbolState>& into, const std::vector<SymbolState>& from) {
  for (const SymbolState& theirs : from) {
    if (theirs.updates == 0) continue;
    auto it = std::find_if(into.begin(), into.end(), [&](const SymbolState& s) { return s.name == theirs.name; });
    if (it == into.end()) {
      into.push_back(theirs);
      continue;
    }
    SymbolState& ours = *it;
    if (theirs.first_time < ours.first_time) {
      ours.first_price = theirs.first_price;
      ours.first_time = theirs.first_time;
    }
    if (theirs.last_time >= ours.last_time) {
      ours.last_price = theirs.last_price;
      ours.last_time = theirs.last_time;
      ours.change_pct = theirs.change_pct;
      ours.change_from_first = theirs.change_from_first;
    }
    ours.updates += theirs.updates;
    if (ours.change_from_first && ours.first_price > 0) {
      ours.change_pct = (ours.last_price - ours.first_price) / ours.first_price * 100.0;
    }
  }
}

std::vector<SymbolState> top_movers(std::vector<SymbolState> states, std::size_t limit) {
  std::erase_if(states, [](const SymbolState& s) { return s.updates == 0; });
  const std::size_t n = std::min(limit, states.size());
  std::partial_sort(states.begin(), states.begin() + static_cast<std::ptrdiff_t>(n), states.end(),
                    [](const SymbolState& a, const SymbolState& b) {
                      const double da = std::fabs(a.change_pct);
                      const double db = std::fabs(b.change_pct);
                      return da != db ? da > db : a.name < b.name;
                    });
  states.resize(n);
  return states;
}

}  // namespace tickrelay::client
